package io.replicode.replica.machine;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.wasi.WasiHost;
import io.replicode.replica.wasi.net.StreamSocket;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The deterministic guest machine: an app's guest driven by frames, and the supervisor that keeps it serving.
 *
 * <p>{@link #apply(Frame)} feeds a frame's events to the guest's virtual sockets, runs the guest until it
 * waits for input again, and returns what it produced. The machine is a plain synchronous object with no
 * Vert.x in sight: the same frames give the same outputs, digests and snapshots on every replica, engine
 * and JVM. It is not thread-safe; one owner drives it.
 *
 * <p><b>Supervision.</b> A fault at frame N (trap, exhausted fuel or call depth, {@code proc_exit}, a host rule
 * broken) does not end the app. Every replica handles it the same way, because every decision below depends
 * only on the state before frame N and on frame N:
 * <ol>
 *   <li><b>Roll back the poison</b> (snapshot-capable guests): the guest goes back to its state before frame N
 *       (an in-memory checkpoint plus the frames applied since, replayed) and frame N is applied again
 *       without the input of the connections that caused the fault. Those are found by trials: first with
 *       every connection of the frame and of the guest cut; if that runs, a binary search over the connections
 *       (in id order) finds, one by one, the connections whose input brings the fault back. They are reset
 *       (the guest sees a reset, the client a TCP reset); every other connection keeps its session and the
 *       app its data. See {@link SupervisionPolicy} for the bounds.
 *   <li><b>Restart</b> when rollback is impossible (a guest on a blocking thread has no checkpoint) or the fault
 *       does not depend on any connection's input: the module starts afresh on the same files (as a supervisor
 *       restarts a crashed process), with every connection reset. After
 *       {@link SupervisionPolicy#crashLoopFaults()} such faults within
 *       {@link SupervisionPolicy#crashLoopWindowFrames()} frames the app stops, and says why. A guest that ends
 *       with status 0 finished on purpose: it stops at once.
 *   <li>A stopped app answers every new connection with a reset until an {@link IngressEvent.Restart} frame
 *       (an operator's {@code ./replicode restart}) starts it again, on the same files.
 * </ol>
 * Each recovery is an {@link Output.Recovered} output and part of the state (snapshot and digest), so status,
 * logs and {@code replay verify} show it.
 *
 * <p>Before the guest sees a frame's events, the second copy of a gateway's ingress batch (resent after a
 * sequencer failover) is dropped ({@link DuplicateBatchFilter}).
 */
public final class GuestMachine implements AutoCloseable {
    /** Life cycle of a machine. */
    public enum State {
        NEW,
        PARKED,
        STOPPED
    }

    /** The module running now: the one the machine was made with until an upgrade switches it. */
    private GuestModule module;
    private final GuestConfig config;
    /** Modules by SHA-256 (hex), for upgrades and for snapshots taken after one; null when this replica lacks one. */
    private java.util.function.Function<String, GuestModule> modules = sha -> null;
    /** An upgrade waiting for the old guest to exit (replicated state: snapshot and digest), or null. */
    private PendingUpgrade upgrading;

    /** The module an upgrade switches to, and how many more frames the old guest has to exit. */
    private record PendingUpgrade(String moduleSha256, int framesLeft, int graceFrames) {}
    private final SupervisionPolicy policy;
    private final DuplicateBatchFilter batches = new DuplicateBatchFilter();
    private final FaultRecord faults = new FaultRecord();
    private GuestProcess process;
    private long lastSeq;
    private boolean closed;

    /**
     * The rollback point: the state after some earlier frame (null: a fresh process at genesis), either
     * the replica's last snapshot or a checkpoint of the process taken here when snapshots are rare, and the
     * frames applied to the process since, with the events it really got. Not replicated state: any replica's
     * checkpoint leads to the same state before a frame.
     */
    private byte[] checkpoint;
    private final List<Applied> sinceCheckpoint = new ArrayList<>();
    private long sinceCheckpointBytes;

    /** One frame as the current process got it. */
    private record Applied(long seq, long epoch, long timeNs, byte[] entropy, List<IngressEvent> events) {}

    private GuestMachine(GuestModule module, GuestConfig config, SupervisionPolicy policy) {
        this.module = module;
        this.modules = sha -> sha.equals(module.sha256()) ? module : null;
        this.config = config;
        this.policy = policy;
        this.process = new GuestProcess(module, config, new WasiHost(config, module.socketAbi()));
    }

    /** A machine for {@code module} at genesis; nothing runs until the first frame. */
    public static GuestMachine create(GuestModule module, GuestConfig config) {
        return new GuestMachine(module, config, SupervisionPolicy.DEFAULT);
    }

    /**
     * How this machine finds a module by its SHA-256 (hex): the module an {@link IngressEvent.Upgrade} names, or the
     * one a snapshot taken after an upgrade was running. Returns null for a module it does not have. The module the
     * machine was made with is always found.
     */
    public GuestMachine withModules(java.util.function.Function<String, GuestModule> byHash) {
        GuestModule first = module;
        this.modules = sha -> sha.equals(first.sha256()) ? first : byHash.apply(sha);
        return this;
    }

    /** The module running now. */
    public GuestModule module() {
        return module;
    }

    /** The module an upgrade in progress switches to (its old guest has not exited yet), or null. */
    public String upgradingTo() {
        return upgrading == null ? null : upgrading.moduleSha256();
    }

    /** A machine supervised by {@code policy} (tests use small bounds). */
    public static GuestMachine create(GuestModule module, GuestConfig config, SupervisionPolicy policy) {
        return new GuestMachine(module, config, policy);
    }

    public State state() {
        return process.state();
    }

    public long lastSeq() {
        return lastSeq;
    }

    /** Why the app stopped, or null. */
    public String stopReason() {
        return process.faulted() ? process.fault() : null;
    }

    public WasiHost host() {
        return process.host();
    }

    /** Pages of the guest's linear memory now (the same on every replica after the same frame). */
    public int memoryPages() {
        return process.memoryPages();
    }

    public GuestStatus status() {
        WasiHost host = process.host();
        return new GuestStatus(config.app(), state(), stopReason(), lastSeq, module.engine().name().toLowerCase(),
                process.snapshotCapable() ? "asyncify" : "thread", process.snapshotCapable(), process.memoryPages(),
                host.fuelConsumed(), host.network().connectionCount(), host.openDescriptors(),
                batches.duplicateBatches(), batches.duplicateEvents(), faults.restarts(), faults.rollbacks(),
                faults.connectionsCut(), faults.lastFault(), module.socketAbi().label(), host.network().refusedConnects(),
                host.network().outboundCount());
    }

    /**
     * Applies the next frame: its events reach the guest's sockets, the guest runs until it waits again (after
     * a recovery if it faulted), and everything it produced is returned. Frames must come in seq order
     * without gaps.
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
        // Even a stopped app keeps the table, so its snapshot and digest stay those of every replica.
        List<IngressEvent> events = batches.filter(frame.events());
        IngressEvent.Upgrade upgrade = null;
        for (IngressEvent e : events) {
            if (e instanceof IngressEvent.Upgrade u) {
                upgrade = u;
            }
        }
        if (upgrade != null || upgrading != null) {
            // An upgrade decides this frame; a restart asked for in the same frame is moot (the module starts afresh).
            List<IngressEvent> rest = events.stream()
                    .filter(e -> !(e instanceof IngressEvent.Upgrade) && !(e instanceof IngressEvent.Restart)).toList();
            return upgrade != null ? beginUpgrade(frame, rest, upgrade) : graceFrame(frame, rest, new ArrayList<>());
        }
        return applyEvents(frame, events);
    }

    /** Frame N without an upgrade: a restart if one is asked for, else the guest runs, under supervision. */
    private List<Output> applyEvents(Frame frame, List<IngressEvent> events) {
        boolean restartRequested = events.stream().anyMatch(e -> e instanceof IngressEvent.Restart);
        if (restartRequested) {
            events = events.stream().filter(e -> !(e instanceof IngressEvent.Restart)).toList();
            faults.forgetRecentFaults();
            List<Output> out = restart(frame, events, new ArrayList<>(),
                    "restarted on request at frame " + frame.seq());
            checkpointAfterRestart();
            return out;
        }
        if (process.faulted()) {
            return refuseWhileStopped(frame, events);
        }
        List<Output> out = process.run(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), events);
        if (!process.faulted()) {
            remember(new Applied(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), events));
            return out;
        }
        String fault = process.fault();
        if (process.exitedCleanly()) {
            // A program that ends with status 0 is done, not crashed: nothing to restart.
            process.end(fault);
            out = new ArrayList<>(out);
            out.addAll(process.host().outputs().drain());
            out.add(new Output.Stopped(fault));
            return out;
        }
        faults.fault(fault);
        List<Output> recovered = rollBack(frame, events, fault);
        if (recovered != null) {
            return recovered;
        }
        List<Output> logs = out.stream().filter(o -> o instanceof Output.Log).collect(Collectors.toCollection(ArrayList::new));
        List<Output> restarted = restartAfterFault(frame, events, fault, logs);
        checkpointAfterRestart();
        return restarted;
    }

    /** A stopped app: time goes on, new connections are reset, nothing runs. */
    private List<Output> refuseWhileStopped(Frame frame, List<IngressEvent> events) {
        WasiHost host = process.host();
        host.beginFrame(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy());
        for (IngressEvent e : events) {
            if (e instanceof IngressEvent.Open open) {
                host.outputs().add(new Output.Reset(open.connection()));
            }
        }
        return host.outputs().drain();
    }

    // ---- rollback ----

    /** Outputs of frame N with the poisonous connections cut, or null when rollback cannot help. */
    private List<Output> rollBack(Frame frame, List<IngressEvent> events, String fault) {
        if (!process.snapshotCapable()) {
            return null;
        }
        GuestProcess before = rebuild();
        if (before == null) {
            return null;
        }
        TreeSet<Long> open = connectionIds(before);
        TreeSet<Long> active = new TreeSet<>();
        for (IngressEvent e : events) {
            if (e.connection() >= 0) {
                active.add(e.connection());
            }
        }
        TreeSet<Long> idle = new TreeSet<>(open);
        idle.removeAll(active);
        // Most poison arrives in the faulted frame: first try to cut only the connections it carries, so the
        // search below does not have to go through every idle connection of a busy app.
        List<Long> remaining = new ArrayList<>(active);
        Trial ok = null;
        if (active.isEmpty()) {
            before.close();
        } else {
            ok = trial(before, frame, events, new TreeSet<>(active), open);
        }
        int trials = ok == null ? 0 : 1;
        if (ok == null || ok.faulted()) {
            if (ok != null) {
                ok.close();
            }
            if (idle.isEmpty()) {
                return null;
            }
            remaining.addAll(idle);
            ok = trialCutting(frame, events, List.of(), remaining, open);
            trials++;
            if (ok == null || ok.faulted()) {
                if (ok != null) {
                    ok.close();
                }
                return null;
            }
        }
        TreeSet<Long> involved = new TreeSet<>(open);
        involved.addAll(active);
        // Invariant: `ok` ran with culprits + remaining[lo..] cut; keeping every remaining connection faults.
        List<Long> culprits = new ArrayList<>();
        int lo = 0;
        while (trials < policy.maxRollbackTrials()) {
            int hi = remaining.size();
            while (hi - lo > 1 && trials < policy.maxRollbackTrials()) {
                int mid = (lo + hi) >>> 1;
                Trial t = trialCutting(frame, events, culprits, remaining.subList(mid, remaining.size()), open);
                trials++;
                if (t == null || t.faulted()) {
                    if (t != null) {
                        t.close();
                    }
                    hi = mid;
                } else {
                    ok.close();
                    ok = t;
                    lo = mid;
                }
            }
            if (hi - lo > 1) {
                break;
            }
            culprits.add(remaining.remove(lo));
            if (lo == remaining.size() || trials >= policy.maxRollbackTrials()) {
                break;
            }
            Trial alone = trialCutting(frame, events, culprits, List.of(), open);
            trials++;
            if (alone != null && !alone.faulted()) {
                ok.close();
                ok = alone;
                break;
            }
            if (alone != null) {
                alone.close();
            }
        }
        process.close();
        process = ok.process();
        remember(new Applied(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), ok.events()));
        faults.rolledBack(ok.cut().size());
        List<Output> out = new ArrayList<>(ok.outputs());
        for (long c : ok.cut()) {
            out.add(new Output.Reset(c));
        }
        out.add(new Output.Recovered(fault + ": rolled back and applied again without the input of "
                + describe(ok.cut()) + " (reset); " + (involved.size() - ok.cut().size())
                + " other connection(s) unaffected, " + trials + " trial(s)"));
        return out;
    }

    private Trial trialCutting(Frame frame, List<IngressEvent> events, List<Long> culprits, List<Long> more, TreeSet<Long> open) {
        GuestProcess p = rebuild();
        if (p == null) {
            return null;
        }
        TreeSet<Long> cut = new TreeSet<>(culprits);
        cut.addAll(more);
        return trial(p, frame, events, cut, open);
    }

    /** Runs frame N on {@code p} (the state before it) with the connections in {@code cut} reset instead of served. */
    private static Trial trial(GuestProcess p, Frame frame, List<IngressEvent> events, TreeSet<Long> cut, TreeSet<Long> open) {
        List<IngressEvent> effective = new ArrayList<>();
        for (long c : cut) {
            if (open.contains(c)) {
                effective.add(new IngressEvent.Reset(c));
            }
        }
        for (IngressEvent e : events) {
            if (e.connection() < 0 || !cut.contains(e.connection())) {
                effective.add(e);
            }
        }
        List<Output> out = p.run(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), effective);
        return new Trial(p, List.copyOf(effective), out, cut);
    }

    /** One attempt at frame N. */
    private record Trial(GuestProcess process, List<IngressEvent> events, List<Output> outputs, TreeSet<Long> cut) {
        boolean faulted() {
            return process.faulted();
        }

        void close() {
            process.close();
        }
    }

    /** The process as it was before the current frame: the checkpoint, then the frames applied since; null if that fails. */
    private GuestProcess rebuild() {
        GuestProcess p = new GuestProcess(module, config, new WasiHost(config, module.socketAbi()));
        try {
            if (checkpoint != null) {
                p.restore(checkpoint, maxSnapshotBytes());
            }
            for (Applied a : sinceCheckpoint) {
                p.run(a.seq(), a.epoch(), a.timeNs(), a.entropy(), a.events());
                if (p.faulted()) {
                    p.close();
                    return null;
                }
            }
            return p;
        } catch (RuntimeException e) {
            p.close();
            return null;
        }
    }

    private void remember(Applied a) {
        if (!process.snapshotCapable()) {
            return;
        }
        sinceCheckpoint.add(a);
        for (IngressEvent e : a.events()) {
            sinceCheckpointBytes += e instanceof IngressEvent.Data d ? d.bytes().length + 16 : 16;
        }
        if (sinceCheckpoint.size() >= policy.checkpointEveryFrames() || sinceCheckpointBytes >= policy.checkpointMaxBytes()) {
            takeCheckpoint();
        }
    }

    private void takeCheckpoint() {
        checkpointAt(process.checkpoint());
    }

    /** {@code state} (a process checkpoint or a whole machine snapshot) is the state after the current frame. */
    private void checkpointAt(byte[] state) {
        checkpoint = state;
        sinceCheckpoint.clear();
        sinceCheckpointBytes = 0;
    }

    /** A restarted process cannot be rebuilt from the old checkpoint: the new one starts here. */
    private void checkpointAfterRestart() {
        if (process.snapshotCapable() && !process.faulted()) {
            takeCheckpoint();
        } else {
            checkpoint = null;
            sinceCheckpoint.clear();
            sinceCheckpointBytes = 0;
        }
    }

    // ---- upgrade ----

    /**
     * Frame N carries an upgrade: the old guest's listeners hang up and it runs this frame as its first of grace. A
     * module this replica does not have is refused here, said in the guest's log stream, and the app goes on unchanged
     * (the node stores the module on every replica before it asks for the upgrade, so this is an operator's or
     * Replicode's mistake, and the same on every replica of the node).
     */
    private List<Output> beginUpgrade(Frame frame, List<IngressEvent> events, IngressEvent.Upgrade upgrade) {
        List<Output> out = new ArrayList<>();
        if (modules.apply(upgrade.moduleSha256()) == null) {
            out.add(new Output.Log(2, ("replicode: upgrade of app '" + config.app() + "' to module "
                    + upgrade.moduleSha256().substring(0, 12) + " at frame " + frame.seq()
                    + " refused: this replica does not have the module\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            if (upgrading != null) {
                return graceFrame(frame, events, out);
            }
            out.addAll(applyEvents(frame, events));
            return out;
        }
        upgrading = new PendingUpgrade(upgrade.moduleSha256(), upgrade.graceFrames(), upgrade.graceFrames());
        if (process.faulted()) {
            return switchModule(frame, events, out, "the old guest had stopped (" + process.fault() + ")");
        }
        process.host().network().hangUpListeners();
        return graceFrame(frame, events, out);
    }

    /**
     * A frame of the old guest's grace: it runs as usual (its accepted connections are still served); if it ends (exit,
     * or any fault) or its grace is used up, the new module starts at this frame.
     */
    private List<Output> graceFrame(Frame frame, List<IngressEvent> events, List<Output> out) {
        out.addAll(process.run(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), events));
        int used = upgrading.graceFrames() - upgrading.framesLeft() + 1;
        if (process.faulted()) {
            String how = process.exitedCleanly() ? "the old guest exited within its grace (" + process.fault() + ", frame "
                    + used + " of " + upgrading.graceFrames() + ")" : "the old guest ended in its grace with " + process.fault();
            return switchModule(frame, events, out, how);
        }
        if (upgrading.framesLeft() <= 1) {
            return switchModule(frame, events, out, "the old guest did not exit within its grace of "
                    + upgrading.graceFrames() + " frame(s) and was stopped");
        }
        upgrading = new PendingUpgrade(upgrading.moduleSha256(), upgrading.framesLeft() - 1, upgrading.graceFrames());
        remember(new Applied(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), events));
        return out;
    }

    /**
     * The new module starts at this frame on the old guest's files (clock and random stream carried over, as in a
     * restart); every connection left is reset. It runs this frame with the frame's app-wide events only: the
     * connection events were the old guest's.
     */
    private List<Output> switchModule(Frame frame, List<IngressEvent> events, List<Output> out, String how) {
        GuestModule next = modules.apply(upgrading.moduleSha256());
        TreeSet<Long> reset = connectionIds(process);
        GuestProcess old = process;
        WasiHost host = WasiHost.restartedFrom(old.host(), next.socketAbi());
        old.close();
        module = next;
        process = new GuestProcess(module, config, host);
        upgrading = null;
        faults.forgetRecentFaults();
        for (long c : reset) {
            out.add(new Output.Reset(c));
        }
        out.add(new Output.Upgraded(module.sha256(), "upgraded to module " + module.sha256().substring(0, 12)
                + " at frame " + frame.seq() + ": " + how + "; " + reset.size() + " connection(s) reset"));
        List<IngressEvent> kept = events.stream().filter(e -> e.connection() < 0).toList();
        out.addAll(process.run(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), kept));
        checkpointAfterRestart();
        return out;
    }

    // ---- restart ----

    /**
     * The fault did not go away without any connection's input, or cannot be rolled back: a new process on the
     * same files, unless the app faulted too often lately; then it stops.
     */
    private List<Output> restartAfterFault(Frame frame, List<IngressEvent> events, String fault, List<Output> out) {
        while (true) {
            int recent = faults.restartFault(frame.seq(), policy.crashLoopWindowFrames());
            if (recent >= policy.crashLoopFaults()) {
                String reason = "crash loop: " + recent + " faults within " + policy.crashLoopWindowFrames()
                        + " frames; last: " + fault + ". Fix: correct the module, then ./replicode restart --app " + config.app();
                process.end(reason);
                out.addAll(process.host().outputs().drain());
                out.add(new Output.Stopped(reason));
                return out;
            }
            out = restart(frame, events, out, fault + ": module restarted on the same files (fault " + recent + " of "
                    + policy.crashLoopFaults() + " allowed within " + policy.crashLoopWindowFrames() + " frames)");
            if (!process.faulted()) {
                return out;
            }
            fault = process.fault();
            faults.fault(fault);
            out.removeIf(o -> !(o instanceof Output.Log || o instanceof Output.Reset || o instanceof Output.Recovered));
            events = List.of();
        }
    }

    /**
     * Replaces the process with a new one on the same files and runs it at this frame. Every connection the old one
     * had, and every connection opened in this frame, is reset; the frame's other events reach nobody.
     */
    private List<Output> restart(Frame frame, List<IngressEvent> events, List<Output> out, String report) {
        TreeSet<Long> reset = connectionIds(process);
        for (IngressEvent e : events) {
            if (e instanceof IngressEvent.Open o) {
                reset.add(o.connection());
            }
        }
        GuestProcess old = process;
        WasiHost host = WasiHost.restartedFrom(old.host(), module.socketAbi());
        old.close();
        process = new GuestProcess(module, config, host);
        faults.restarted();
        for (long c : reset) {
            out.add(new Output.Reset(c));
        }
        out.add(new Output.Recovered(report + "; " + reset.size() + " connection(s) reset"));
        List<IngressEvent> kept = events.stream().filter(e -> e.connection() < 0).toList();
        out.addAll(process.run(frame.seq(), frame.epoch(), frame.timeNs(), frame.entropy(), kept));
        return out;
    }

    private static TreeSet<Long> connectionIds(GuestProcess p) {
        TreeSet<Long> ids = new TreeSet<>();
        for (StreamSocket s : p.host().network().connections()) {
            ids.add(s.connection());
        }
        return ids;
    }

    private static String describe(TreeSet<Long> connections) {
        String list = connections.stream().limit(8).map(ConnectionIds::format).collect(Collectors.joining(", "));
        return (connections.size() == 1 ? "connection " : connections.size() + " connections ") + list
                + (connections.size() > 8 ? ", ..." : "");
    }

    /** Stops the guest thread, if any. The machine cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        process.close();
    }

    // ---- snapshot, restore, digest ----

    /** The full state as a versioned, checksummed snapshot; only between frames and for asyncified guests. */
    public byte[] snapshot() {
        return compress(snapshotUncompressed());
    }

    /**
     * The state after the last frame as a snapshot that is not compressed yet: what must happen on the guest thread
     * (a copy of the state); {@link #compress} gives the stored form, on any thread. It is also the rollback point.
     */
    public byte[] snapshotUncompressed() {
        requireSnapshotCapable("snapshot");
        byte[] snapshot = SnapshotCodec.encode(this::writeState, false, process.stateSizeHint());
        if (!process.faulted()) {
            // The snapshot the replica takes anyway is also the rollback point: no second copy of the state.
            checkpointAt(snapshot);
        }
        return snapshot;
    }

    /** A snapshot from {@link #snapshotUncompressed} in the compressed form {@link #snapshot} gives; pure, any thread. */
    public static byte[] compress(byte[] snapshot) {
        return SnapshotCodec.compress(snapshot);
    }

    /** Loads a snapshot into this fresh machine (same module and config); the next frame continues from it. */
    public void restore(byte[] snapshot) {
        if (process.state() != State.NEW || lastSeq != 0) {
            throw new IllegalStateException("restore needs a fresh machine; app '" + config.app() + "' already ran frame " + lastSeq);
        }
        byte[] taken = SnapshotCodec.decode(snapshot, maxSnapshotBytes(), this::readState);
        lastSeq = process.lastSeq();
        // Invariant (kept on in production): the restored machine is the machine that was saved, so its digest is the
        // snapshot's. A codec that writes a field it does not read back (or reads it differently) would otherwise give a
        // replica that silently computes another history from here on.
        if (taken != null) {
            byte[] restored = digest();
            if (!java.util.Arrays.equals(restored, taken)) {
                throw new SnapshotException("snapshot of app '" + config.app() + "' at frame " + lastSeq
                        + " restores to state digest " + java.util.HexFormat.of().formatHex(restored, 0, 8)
                        + "…, but was taken at " + java.util.HexFormat.of().formatHex(taken, 0, 8) + "…: the state codec"
                        + " does not read back what it wrote", "this is a bug (please report it); a replica replays its log"
                        + " from genesis instead, or from an older snapshot");
            }
        }
        if (!process.faulted()) {
            checkpointAt(snapshot);
        }
    }

    /** SHA-256 of the canonical state (memory, globals, tables, host state, supervision); equal states, equal digests. */
    public byte[] digest() {
        return SnapshotCodec.digest(this::writeState);
    }

    /**
     * A copy of the state after the last frame, to be hashed on another thread: {@link StateCopy#digest} there gives
     * what {@link #digest} gives here. Copying is several times faster than hashing (tens of MB: a few ms against tens),
     * so the guest thread is held up for the copy only. {@code reuse}, a copy already hashed (or null), is written
     * over instead of allocating tens of MB again for every copy.
     */
    public StateCopy stateCopy(StateCopy reuse) {
        StateCopy copy = reuse != null ? reuse : new StateCopy(process.stateSizeHint());
        copy.bytes.reset();
        try (java.io.DataOutputStream d = new java.io.DataOutputStream(copy.bytes)) {
            writeState(d);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("copying in-memory state failed", e);
        }
        return copy;
    }


    /** A copy of a machine's state from {@link #stateCopy}; any thread. */
    public static final class StateCopy {
        private final SnapshotCodec.StateBuffer bytes;

        private StateCopy(int sizeHint) {
            bytes = new SnapshotCodec.StateBuffer(sizeHint);
        }

        /** SHA-256 of the state: the digest {@link GuestMachine#digest} gave when the copy was taken. */
        public byte[] digest() {
            try {
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                sha.update(bytes.array(), 0, bytes.size());
                return sha.digest();
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JVM has no SHA-256", e);
            }
        }
    }

    private long maxSnapshotBytes() {
        return (long) config.limits().memoryPages() * GuestLimits.WASM_PAGE_BYTES + config.limits().fsQuotaBytes()
                + GuestLimits.SNAPSHOT_OVERHEAD_BYTES;
    }

    private void requireSnapshotCapable(String what) {
        if (!process.snapshotCapable()) {
            throw new IllegalStateException("app '" + config.app() + "' cannot " + what + ": its module "
                    + (module.facts().asyncified() ? "has no recognisable C stack pointer" : "was not built with asyncify")
                    + " and runs on a blocking thread. Fix: " + SnapshotCodec.ASYNCIFY_FIX);
        }
    }

    private void writeState(DataOutputStream d) throws IOException {
        process.writeState(d);
        batches.writeTo(d);
        faults.writeTo(d);
        d.writeBoolean(upgrading != null);
        if (upgrading != null) {
            d.writeUTF(upgrading.moduleSha256());
            d.writeInt(upgrading.framesLeft());
            d.writeInt(upgrading.graceFrames());
        }
    }

    private void readState(DataInputStream d, int version) throws IOException {
        // The module the snapshot names decides, not this fresh machine's: an app upgraded from a module that cannot
        // snapshot to one that can restores its later snapshots.
        useSnapshotModule(d);
        requireSnapshotCapable("restore");
        process.readState(d, version);
        if (version >= 2) {
            batches.readFrom(d);
        }
        if (version >= 3) {
            faults.readFrom(d);
        }
        upgrading = null;
        if (version >= 4 && d.readBoolean()) {
            String sha = d.readUTF();
            int left = d.readInt();
            int grace = d.readInt();
            if (grace < 1 || grace > IngressEvent.Upgrade.MAX_GRACE_FRAMES || left < 1 || left > grace) {
                throw new IOException("snapshot upgrade has " + left + " of " + grace + " frames of grace left");
            }
            if (modules.apply(sha) == null) {
                throw new IOException("snapshot is upgrading to module " + sha.substring(0, Math.min(12, sha.length()))
                        + ", which this replica does not have");
            }
            upgrading = new PendingUpgrade(sha, left, grace);
            process.host().network().hangUpListeners();
        }
    }

    /** A snapshot taken after an upgrade names another module than this fresh machine's: run that one. */
    private void useSnapshotModule(DataInputStream d) throws IOException {
        d.mark(1 << 10);
        String sha = d.readUTF();
        d.reset();
        if (sha.equals(module.sha256())) {
            return;
        }
        GuestModule other = modules.apply(sha);
        if (other == null) {
            return; // process.readState names both modules
        }
        process.close();
        module = other;
        process = new GuestProcess(module, config, new WasiHost(config, module.socketAbi()));
    }
}
