package io.replicode.replica.verticle;

import io.replicode.nat.Addresses;
import io.replicode.nat.CodecException;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import io.replicode.replay.DigestLog;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.GuestStatus;
import io.replicode.replica.machine.GuestThreads;
import io.replicode.replica.machine.SnapshotException;
import io.replicode.replica.module.GuestModule;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;

/**
 * One replica of one app: applies the app's frames in seq order to its {@link GuestMachine} and sends the
 * outputs to the gateways that own the connections.
 *
 * <p>On start it restores the newest snapshot (if any) and replays the log after it, so a restart does not
 * replay all history. In a node, the node hands each durable frame to its replicas' guest threads directly
 * ({@link LocalFrames}); otherwise frames arrive on the event bus, where one that arrives early waits. Either way a gap
 * is filled from the log (every frame is durable there before any replica gets it). The machine runs on this replica's own
 * guest thread, never on the event loop. A frame that carries a {@code SnapshotRequest} (the sequencer adds
 * one every N frames or T seconds) makes the replica snapshot right after it, so every replica cuts at
 * the same frame.
 */
public final class ReplicaVerticle extends VerticleBase {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ReplicaVerticle.class);

    /** Where a replica's digest of each frame it applied live goes (the node's divergence monitor), on its own thread. */
    @FunctionalInterface
    public interface DigestSink {
        void report(int replica, DigestLog.FrameDigest digest);
    }

    /**
     * @param maxBufferedFrames early frames held while a gap is filled; beyond, they are re-read from the log
     * @param gateways          gateways known at start: app-wide outputs (guest logs, a stop) reach them even
     *                          before they open a connection
     * @param machines          how the replica makes its machine (tests inject faults through it)
     * @param localFrames       where the node hands this app's durable frames to its replicas (see {@link LocalFrames});
     *                          null: the replica takes them from the event bus ({@code Addresses.frames})
     * @param switched          told (module SHA-256, frame seq) when the app's module changes at a frame (an upgrade),
     *                          on the guest thread: the node notes it in the app's genesis
     * @param digestSink        gets the digest of every frame applied live; null: they are sent on the event bus
     *                          ({@code Addresses.digests}, local only)
     * @param localGateways     the gateways in this process, handed their output batches without the event bus (see
     *                          {@link io.replicode.nat.LocalGateways}); null: every batch goes on the event bus
     */
    public record Options(int maxBufferedFrames, java.util.Set<Integer> gateways,
                          java.util.function.BiFunction<GuestModule, GuestConfig, GuestMachine> machines,
                          LocalFrames localFrames, java.util.function.IntPredicate outputsFor,
                          io.replicode.nat.SequencerRoute route,
                          java.util.function.ObjLongConsumer<String> switched, DigestSink digestSink,
                          io.replicode.nat.LocalGateways localGateways) {
        public static final Options DEFAULT = new Options(4096, java.util.Set.of());

        public Options {
            gateways = java.util.Set.copyOf(gateways);
            java.util.Objects.requireNonNull(machines, "machines");
            java.util.Objects.requireNonNull(route, "route");
            java.util.Objects.requireNonNull(switched, "switched");
        }

        public Options(int maxBufferedFrames, java.util.Set<Integer> gateways) {
            this(maxBufferedFrames, gateways, GuestMachine::create, null, g -> true, io.replicode.nat.SequencerRoute.SINGLE_NODE,
                    (module, seq) -> { }, null, null);
        }

        /** The same options with another way to make machines. */
        public Options withMachines(java.util.function.BiFunction<GuestModule, GuestConfig, GuestMachine> factory) {
            return new Options(maxBufferedFrames, gateways, factory, localFrames, outputsFor, route, switched, digestSink, localGateways);
        }

        /**
         * Frames come from {@code frames}, where the node hands over each durable frame (the single node's sequencer, a
         * cluster member's history once a frame is in the member's log), instead of from the event bus.
         */
        public Options withLocalFrames(LocalFrames frames) {
            return new Options(maxBufferedFrames, gateways, machines, frames, outputsFor, route, switched, digestSink, localGateways);
        }

        /**
         * In a cluster member: outputs go only to the gateways this predicate accepts. A gateway on a member that runs
         * replicas of the app takes its answers from those, so other members' replicas need not send it theirs.
         */
        public Options withOutputsFor(java.util.function.IntPredicate accept) {
            return new Options(maxBufferedFrames, gateways, machines, localFrames, accept, route, switched, digestSink, localGateways);
        }

        /** In a cluster member: timer requests go to the sequencer this route names now (the group's leader). */
        public Options withRoute(io.replicode.nat.SequencerRoute to) {
            return new Options(maxBufferedFrames, gateways, machines, localFrames, outputsFor, to, switched, digestSink, localGateways);
        }

        /** The same options, with {@code then} told of each module switch (module SHA-256, frame seq). */
        public Options whenSwitched(java.util.function.ObjLongConsumer<String> then) {
            return new Options(maxBufferedFrames, gateways, machines, localFrames, outputsFor, route, then, digestSink, localGateways);
        }

        /**
         * Output batches for a gateway registered in {@code local} (one in this process) are handed to it as they
         * are, on the replica's thread; for any other gateway they are sent on the event bus.
         */
        public Options withLocalGateways(io.replicode.nat.LocalGateways local) {
            return new Options(maxBufferedFrames, gateways, machines, localFrames, outputsFor, route, switched, digestSink,
                    local);
        }

        /** Each live frame's digest goes to {@code sink}, called on the replica's thread, instead of the event bus. */
        public Options withDigestSink(DigestSink sink) {
            return new Options(maxBufferedFrames, gateways, machines, localFrames, outputsFor, route, switched, sink, localGateways);
        }
    }

    private final String app;
    private final int replica;
    private final GuestModule module;
    private final GuestConfig config;
    private final ReplayLog log;
    private final SnapshotStore snapshots;
    private final Options options;
    private final TreeMap<Long, Frame> early = new TreeMap<>();
    /** Gateways that own a connection this replica has seen: app-wide outputs (Stopped, Log) go to all of them. */
    private final TreeSet<Integer> gateways = new TreeSet<>();
    private ExecutorService guestThread;
    /** Compresses and writes snapshots, in order, off the guest thread. */
    private ExecutorService snapshotWriter;
    /** Hashes state copies and writes the digest log, in frame order, off the guest thread (see {@link #record}). */
    private ExecutorService digestWriter;
    private GuestMachine machine;
    /** Next seq to hand to the guest thread. */
    private long expected;
    private boolean fillingGap;
    private volatile long appliedSeq;
    private boolean stopAnnounced;
    private volatile String restoredFrom = "genesis";
    /** How long restoring its snapshot took at start (0 without one). */
    private volatile long restoreMs;
    private volatile long malformed;
    /** SHA-256 of the module the machine runs (it changes at an upgrade). */
    private volatile String runningModule;
    /** Frames that arrived beyond the next one and had the frames before them applied from the log first (a bug). */
    private volatile long gapsFilled;
    /** Guest tasks that failed with nobody waiting for them (a bug). */
    private volatile long guestTaskFailures;
    private volatile long snapshotsTaken;
    /** The machine's status after the last frame it applied: status requests read it without the guest thread. */
    private volatile GuestStatus lastStatus;
    /** The last full-state digest the replica computed (see {@link #stateDigestDue}), and its frame. */
    private volatile StateDigest lastStateDigest = new StateDigest(0, null);

    /** A full-state digest (hex SHA-256) and the frame it was taken after. */
    private record StateDigest(long seq, String hex) {}
    /** The last {@value #RECENT_DIGESTS} state digests by frame: what other members compare theirs with. */
    private final java.util.concurrent.ConcurrentSkipListMap<Long, String> recentDigests = new java.util.concurrent.ConcurrentSkipListMap<>();
    private static final int RECENT_DIGESTS = 32;
    /** Tasks handed to the guest thread and not finished: zero after a frame means the replica is idle. */
    private final java.util.concurrent.atomic.AtomicInteger guestTasks = new java.util.concurrent.atomic.AtomicInteger();
    private boolean idleDigestScheduled;
    private volatile boolean stopping;
    /** How long a replica must be quiet before its status digest is brought up to date (it hashes all guest memory). */
    private static final long IDLE_DIGEST_DELAY_MS = 200;

    /** How often a cluster replica checks whether the app's sequencer moved to another member. */
    private static final long FOLLOW_SEQUENCER_MS = 500;

    /** Frames between full-state digests in the digest log while the guest's memory is at most 2 MiB (see {@link #stateDigestDue}). */
    public static final int STATE_DIGEST_EVERY_FRAMES = 100;
    /** Guest memory up to which state digests come every {@value #STATE_DIGEST_EVERY_FRAMES} frames; each doubling beyond halves how often. */
    static final long STATE_DIGEST_BASE_BYTES = 2L << 20;

    /**
     * Whether the digest record of frame {@code seq} holds the full-state digest, for a guest whose memory has
     * {@code memoryPages} pages after the frame: every {@value #STATE_DIGEST_EVERY_FRAMES} frames up to 2 MiB of memory
     * (the kv app starts at 1.6 MB), every 200 up to 4 MiB, every 400 up to 8 MiB, and so on (a 10.8 MB kv: every 800; a
     * 113 MB one: every 6,400). Each full-state digest copies and hashes all of the guest's memory, on every replica.
     * Every 100 frames up to 16 MiB (the rule before), a kv that had grown to 10.8 MB spent a third of the node's CPU
     * on digests and snapshots under {@code redis-benchmark -c 50} (replicas' digest threads 5.1 µs per request, their
     * guest threads about 5 more copying); a 16 MiB SET in small frames spent 74% of the replica threads' CPU samples on
     * it before the interval grew with the memory at all. With the rule a digest copies at most about 21 KiB (2 MiB / 100)
     * of memory per frame applied. Outputs are still digested in every frame's record, and a replica quiet for a moment
     * takes a state digest at once (its status). The rule reads only the frame's seq and the memory size after the frame,
     * which are the same on every replica and in a re-execution, so all replicas record state digests at the same frames.
     */
    static boolean stateDigestDue(long seq, int memoryPages) {
        long interval = STATE_DIGEST_EVERY_FRAMES;
        long bytes = (long) memoryPages * io.replicode.replica.GuestLimits.WASM_PAGE_BYTES;
        for (long covered = STATE_DIGEST_BASE_BYTES; covered < bytes; covered <<= 1) {
            interval <<= 1;
        }
        return seq % interval == 0;
    }

    /**
     * A state copy already hashed, for the next one to be written into: a new one every {@value
     * #STATE_DIGEST_EVERY_FRAMES} frames was tens of MB of humongous allocation, and each started a G1 collection
     * (22-89 ms pauses under a write load).
     */
    private final java.util.concurrent.atomic.AtomicReference<GuestMachine.StateCopy> spareStateCopy =
            new java.util.concurrent.atomic.AtomicReference<>();

    private DigestLog digests;
    private static final io.vertx.core.eventbus.DeliveryOptions LOCAL_ONLY =
            new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true);
    /** Times the guest waits for that no applied frame has reached yet (guest thread writes, event loop reads). */
    private final TreeSet<Long> timers = new TreeSet<>();

    /**
     * A new sequencer took over the app (cluster failover): it does not know what the guest waits for, so the
     * timers are asked for again (the sequencer keeps one frame per distinct time).
     */
    private void repeatTimers() {
        List<Output> again = new ArrayList<>();
        synchronized (timers) {
            for (long at : timers) {
                again.add(new Output.TimerRequest(at));
            }
        }
        if (!again.isEmpty()) {
            sendControl(new OutputBatch(app, replica, appliedSeq, again));
        }
    }

    /** Sends {@code batch} to the app's sequencer; while none is known it is dropped, and repeated once one is. */
    private void sendControl(OutputBatch batch) {
        String to = options.route().control(app);
        if (to != null) {
            vertx.eventBus().send(to, Buffer.buffer(batch.encode()));
        }
    }

    /** The sequencer address timers were last asked at: a new one (another leader) is asked again. */
    private String controlSeen;

    private void followSequencer() {
        String now = options.route().control(app);
        if (now != null && !now.equals(controlSeen)) {
            controlSeen = now;
            repeatTimers();
        }
    }

    public ReplicaVerticle(String app, int replica, GuestModule module, GuestConfig config, ReplayLog log,
                           SnapshotStore snapshots, Options options) {
        this.app = app;
        this.replica = replica;
        this.module = module;
        this.config = config;
        this.log = log;
        this.snapshots = snapshots;
        this.options = options;
    }

    @Override
    public Future<?> start() {
        if (registry != null) {
            meters = new ReplicaMeters(registry, app, replica, () -> Math.max(0, log.lastSeq() - appliedSeq), () -> lastStatus);
        }
        guestThread = GuestThreads.newSingleThreadExecutor("replicode-" + app + "-replica-" + replica);
        snapshotWriter = writerThread("snapshots");
        digestWriter = writerThread("digests");
        gateways.addAll(options.gateways());
        return onGuest(this::recover).compose(last -> {
            expected = last + 1;
            vertx.eventBus().<io.vertx.core.json.JsonObject>consumer(Addresses.sequencer(app), m -> repeatTimers());
            if (options.route() != io.replicode.nat.SequencerRoute.SINGLE_NODE) {
                controlSeen = options.route().control(app);
                vertx.setPeriodic(FOLLOW_SEQUENCER_MS, id -> followSequencer());
            }
            if (options.localFrames() != null) {
                options.localFrames().join(this);
                return Future.succeededFuture();
            }
            return vertx.eventBus().<Buffer>consumer(Addresses.frames(app), m -> onFrame(m.body())).completion();
        }).compose(v -> {
            // Frames published while this replica started are in the log: catch up now.
            catchUpFromLog();
            return Future.succeededFuture();
        });
    }

    /** A single daemon thread of this replica's, named for what it writes. */
    private ExecutorService writerThread(String what) {
        String name = "replicode-" + app + "-replica-" + replica + "-" + what;
        return java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public Future<?> stop() {
        stopping = true;
        if (options.localFrames() != null) {
            options.localFrames().leave(this);
        }
        if (meters != null) {
            meters.remove();
        }
        return onGuest(() -> {
            if (machine != null) {
                machine.close();
            }
            return null;
        }).eventually(() -> {
            guestThread.shutdown();
            // Every frame's digest is written before the log is closed.
            digestWriter.shutdown();
            return vertx.executeBlocking(() -> {
                digestWriter.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
                if (digests != null) {
                    digests.close();
                }
                return null;
            }, false);
        }).eventually(() -> {
            // A snapshot being written is finished (a stop must not leave the newest one half done); later ones
            // were never queued.
            snapshotWriter.shutdown();
            return vertx.executeBlocking(() -> snapshotWriter.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS), false)
                    .mapEmpty();
        });
    }

    /** On the guest thread: newest usable snapshot, then every logged frame after it. Returns the last seq applied. */
    private long recover() {
        digests = DigestLog.open(snapshots.directory().resolveSibling("digests.log"));
        List<Output> timers = new ArrayList<>();
        for (int attempt = 1; !replayFromNewestSnapshot(timers); attempt++) {
            // In a cluster, a snapshot installed by the leader restarts the member's log while this replica starts: its
            // newest snapshot is then the installed one (stored before the log restarts), and it starts over from it.
            if (attempt == 3) {
                throw new IllegalStateException("replica " + replica + " of '" + app + "': the log moved past its snapshots"
                        + " three times while it started (it starts at " + log.firstSeq() + "). Fix: restart the member");
            }
            LOG.warn(app + " replica " + replica + ": the log now starts at " + log.firstSeq()
                    + " (a snapshot was installed meanwhile); starting again from the newest snapshot");
            machine.close();
            timers.clear();
        }
        appliedSeq = machine.lastSeq();
        lastStatus = machine.status();
        runningModule = machine.module().sha256();
        synchronized (this.timers) {
            for (Output o : timers) {
                this.timers.add(((Output.TimerRequest) o).atNs());
            }
        }
        if (!timers.isEmpty()) {
            // The sequencer restarted too and forgot what the guest waits for: ask again.
            sendControl(new OutputBatch(app, replica, appliedSeq, timers));
        }
        return machine.lastSeq();
    }

    /**
     * On the guest thread: a fresh machine from the newest usable snapshot, then every logged frame after it; timer
     * requests are collected in {@code timers}. False when the log no longer holds the frames after the snapshot
     * (it was restarted from a newer one meanwhile).
     */
    private boolean replayFromNewestSnapshot(List<Output> timers) {
        machine = options.machines().apply(module, config);
        var handed = startingState;
        startingState = null;
        var latest = handed != null ? java.util.Optional.of(handed) : snapshots.latest();
        if (latest.isPresent()) { // only a module that can snapshot left one; it may not be the app's first module
            try {
                long t0 = System.nanoTime();
                machine.restore(latest.get().bytes());
                restoreMs = (System.nanoTime() - t0) / 1_000_000;
                restoredFrom = "snapshot at frame " + latest.get().seq();
            } catch (SnapshotException | IllegalStateException e) {
                LOG.warn(app + " replica " + replica + ": snapshot at frame "
                        + latest.get().seq() + " unusable (" + e.getMessage() + "); replaying the log from genesis");
                snapshots.discard(latest.get().seq());
                machine.close();
                machine = options.machines().apply(module, config);
                restoredFrom = "genesis (snapshot discarded)";
            }
        }
        long from = machine.lastSeq() + 1;
        if (from < log.firstSeq()) {
            if (snapshots.latestFile() != null && snapshots.latestFile().seq() > machine.lastSeq()) {
                return false;
            }
            throw new IllegalStateException("replica " + replica + " of '" + app + "' needs frames from " + from
                    + " but the log starts at " + log.firstSeq() + ". Fix: restore a snapshot from a healthy replica");
        }
        while (from <= log.lastSeq()) {
            List<Frame> frames;
            try {
                frames = log.read(from, 1024);
            } catch (IllegalArgumentException e) {
                if (from < log.firstSeq()) {
                    return false;
                }
                throw e;
            }
            for (Frame f : frames) {
                noteGateways(f);
                List<Output> outputs = machine.apply(f);
                record(f.seq(), outputs, false);
                for (Output o : outputs) {
                    if (o instanceof Output.TimerRequest) {
                        timers.add(o);
                    }
                }
                from = f.seq() + 1;
            }
        }
        return true;
    }

    /**
     * A durable frame handed over in process ({@link LocalFrames}), in seq order, from any thread: it goes straight to the
     * guest thread. There a frame the machine has applied is dropped, and one beyond the next first has the frames before
     * it applied from the log: frames made durable while this replica started were not handed to it, but every frame is
     * in the log before it is handed over.
     */
    void offer(Frame f) {
        if (stopping || !f.app().equals(app)) {
            return;
        }
        onGuestNoResult(() -> applyOffered(f), e -> guestTaskFailed("frame " + f.seq(), e));
    }

    private Void applyOffered(Frame f) {
        long next = machine.lastSeq() + 1;
        if (f.seq() < next) {
            return null;
        }
        if (f.seq() > next) {
            applyFromLog(next, f.seq()); // if the log lacks some, applyAndRoute names the gap
        }
        return applyAndRoute(f);
    }

    /** On the guest thread: the frames {@code from..to-1} the log holds, 256 read at a time, applied and routed. */
    private void applyFromLog(long from, long to) {
        long next = from;
        while (next < to) {
            List<Frame> frames = log.read(next, (int) Math.min(256, to - next));
            if (frames.isEmpty()) {
                return;
            }
            for (Frame g : frames) {
                if (g.seq() < to) {
                    applyAndRoute(g);
                }
                next = g.seq() + 1;
            }
        }
    }

    private void onFrame(Buffer body) {
        Frame f;
        try {
            f = FrameCodec.decode(body.getBytes());
        } catch (CodecException e) {
            malformed++;
            return;
        }
        if (!f.app().equals(app) || f.seq() < expected) {
            return;
        }
        if (early.size() < options.maxBufferedFrames() || f.seq() < early.lastKey()) {
            early.put(f.seq(), f);
        }
        drain();
    }

    /** Hands every frame that is next in line to the guest thread; a gap is filled from the log. */
    private void drain() {
        while (!fillingGap && !early.isEmpty() && early.firstKey() == expected) {
            Frame f = early.pollFirstEntry().getValue();
            expected++;
            onGuestNoResult(() -> applyAndRoute(f), e -> guestTaskFailed("frame " + f.seq(), e));
        }
        if (!fillingGap && !early.isEmpty() && early.firstKey() > expected) {
            catchUpFromLog();
        }
    }

    private void catchUpFromLog() {
        if (fillingGap) {
            return;
        }
        fillingGap = true;
        long from = expected;
        onGuest(() -> {
            long next = from;
            List<Frame> frames;
            while (!(frames = log.read(next, 256)).isEmpty()) {
                for (Frame f : frames) {
                    applyAndRoute(f);
                    next = f.seq() + 1;
                }
            }
            return next;
        }).onComplete(ar -> {
            fillingGap = false;
            if (ar.succeeded()) {
                expected = Math.max(expected, ar.result());
                early.headMap(expected).clear();
            } else {
                guestTaskFailed("catching up from frame " + from, ar.cause());
            }
            drain();
        });
    }

    /**
     * On the guest thread: applies one frame, routes its outputs, snapshots when its seq asks for it. A frame the
     * machine has already applied (it came from the log while this one waited in the queue) is dropped. A frame
     * beyond the next one breaks the invariant that the machine sees every frame once, in order: {@link #drain} and
     * {@link #catchUpFromLog} never hand one over, so it is a bug. It is said and counted, and the missing frames are
     * applied from the log first; if the log does not have them either, the frame is refused with an error that names
     * the gap (never skipped).
     */
    private Void applyAndRoute(Frame f) {
        long next = machine.lastSeq() + 1;
        if (f.seq() < next) {
            return null;
        }
        if (f.seq() > next) {
            fillGap(next, f.seq());
        }
        noteGateways(f);
        long fuelBefore = lastStatus == null ? 0 : lastStatus.fuelConsumed();
        long t0 = System.nanoTime();
        List<Output> outputs = machine.apply(f);
        long took = System.nanoTime() - t0;
        appliedSeq = f.seq();
        lastStatus = machine.status();
        if (meters != null) {
            meters.applied(took, Math.max(0, lastStatus.fuelConsumed() - fuelBefore));
        }
        String was = runningModule;
        runningModule = machine.module().sha256();
        if (was != null && !was.equals(runningModule)) {
            options.switched().accept(runningModule, f.seq());
        }
        synchronized (timers) {
            timers.headSet(f.timeNs(), true).clear();
            for (Output o : outputs) {
                if (o instanceof Output.TimerRequest t) {
                    timers.add(t.atNs());
                }
            }
        }
        List<Output> produced = outputs;
        if (machine.state() == GuestMachine.State.STOPPED && !stopAnnounced) {
            // A stop found while replaying at start never reached the (new) gateways: say it with the first
            // live frame. Every replica does this at the same frame, so their batches stay identical.
            stopAnnounced = true;
            if (outputs.stream().noneMatch(o -> o instanceof Output.Stopped)) {
                List<Output> withStop = new ArrayList<>(outputs);
                withStop.add(new Output.Stopped(machine.stopReason()));
                outputs = withStop;
            }
        }
        route(f.seq(), outputs);
        // After the answers left: the client need not wait for this frame's digest record (a write to the digest log)
        // or for the divergence monitor. The gateway never waited for a comparison anyway (the first batch of a frame
        // is released); a divergence found here stops this replica's later batches.
        record(f.seq(), produced, true);
        if (f.events().contains(new IngressEvent.SnapshotRequest()) && machine.module().snapshotCapable()) {
            // The guest thread copies the state out; compressing and writing it (a second or more for tens of MB)
            // happen on the snapshot thread, so frames are not held up meanwhile. In order, one at a time.
            byte[] state = machine.snapshotUncompressed();
            snapshotStateBytes = state.length;
            long seq = f.seq();
            snapshotWriter.execute(() -> {
                try {
                    long writeStart = System.nanoTime();
                    byte[] compressed = GuestMachine.compress(state);
                    snapshots.save(seq, compressed);
                    if (meters != null) {
                        meters.snapshotWritten(compressed.length, System.nanoTime() - writeStart);
                    }
                } catch (RuntimeException e) {
                    // The older snapshot and the log still restore this replica; said, not fatal.
                    LOG.warn(app + " replica " + replica + ": snapshot at frame " + seq
                            + " not saved: " + e.getMessage() + ". Fix: check the disk (space, permissions) of " + snapshots.directory());
                }
            });
            snapshotsTaken++;
        }
        return null;
    }

    /** On the guest thread: frames {@code from..to-1}, which the machine should already have applied, from the log. */
    private void fillGap(long from, long to) {
        gapsFilled++;
        LOG.error(app + " replica " + replica + ": frame " + to + " reached the machine at frame "
                + (from - 1) + "; applying frames " + from + ".." + (to - 1) + " from the log first (a bug: please report it)");
        applyFromLog(from, to);
        if (machine.lastSeq() + 1 != to) {
            throw new IllegalStateException("replica " + replica + " of '" + app + "' is at frame " + machine.lastSeq()
                    + " and frame " + to + " arrived, but the log does not hold frames " + (machine.lastSeq() + 1) + ".."
                    + (to - 1) + ". Fix: this is a bug; restart the node, the replica rebuilds from its snapshot and log");
        }
    }

    /** A guest task that failed where nobody waits for its result: said, counted, never silent. */
    private void guestTaskFailed(String what, Throwable e) {
        guestTaskFailures++;
        if (stopping) {
            return; // frames that arrive while the replica stops find its machine closed: expected, not a fault
        }
        LOG.error(app + " replica " + replica + ": " + what + " failed: " + e);
    }

    /**
     * On the guest thread, after each task: when the status digest is older than the last applied frame, a
     * digest is taken once the replica has been quiet (no frame applied) for {@code IDLE_DIGEST_DELAY_MS}. A
     * replica under steady load shows its last periodic state digest instead, and pays nothing for this.
     */
    private void digestWhenIdle() {
        if (stopping || machine == null || idleDigestScheduled || lastStateDigest.seq() == appliedSeq) {
            return;
        }
        idleDigestScheduled = true;
        long seqWhenScheduled = appliedSeq;
        vertx.setTimer(IDLE_DIGEST_DELAY_MS, id -> onGuest(() -> {
            idleDigestScheduled = false;
            if (!stopping && appliedSeq == seqWhenScheduled && guestTasks.get() == 1 && lastStateDigest.seq() != appliedSeq) {
                noteStateDigest(machine.lastSeq(), HexFormat.of().formatHex(machine.digest()));
            }
            return null;
        }));
    }

    /**
     * Records what this frame produced in the digest log and, for frames applied live, tells the divergence
     * monitor. Every {@value #STATE_DIGEST_EVERY_FRAMES} frames (more rarely for a memory over 2 MiB, see
     * {@link #stateDigestDue}) the full state digest is included: the guest thread
     * only copies the state, and {@link #digestWriter} hashes it and writes the record, in frame order. Hashed here,
     * tens of MB of state held up every frame behind it for tens of ms, on every replica (the kv app under a write
     * load: p99 halved without the digests).
     */
    private void record(long seq, List<Output> outputs, boolean live) {
        GuestMachine.StateCopy copy = stateDigestDue(seq, machine.memoryPages())
                ? machine.stateCopy(spareStateCopy.getAndSet(null)) : null;
        Runnable write = () -> {
            byte[] state = copy == null ? null : copy.digest();
            if (state != null) {
                spareStateCopy.set(copy);
                noteStateDigest(seq, HexFormat.of().formatHex(state));
            }
            DigestLog.FrameDigest d = DigestLog.of(seq, outputs, state);
            digests.append(d);
            if (live && options.digestSink() != null) {
                options.digestSink().report(replica, d);
            } else if (live) {
                byte[] payload = DigestLog.encode(d);
                // The monitor compares this member's replicas: in a cluster every member runs its own.
                vertx.eventBus().send(Addresses.digests(app),
                        Buffer.buffer(java.nio.ByteBuffer.allocate(4 + payload.length).putInt(replica).put(payload).array()),
                        LOCAL_ONLY);
            }
        };
        // A frame without a state copy hashes only its outputs (small): it is recorded here when nothing waits for the
        // writer, which keeps the log in frame order and spares a thread hand-over per frame (with the replica's
        // other hops, hand-overs were most of a frame's cost on 2 CPUs: bench/redis.sh, docs/benchmarks.md).
        if (copy == null && digestsQueued.get() == 0) {
            write.run();
            return;
        }
        digestsQueued.incrementAndGet();
        digestWriter.execute(() -> {
            try {
                write.run();
            } finally {
                digestsQueued.decrementAndGet();
            }
        });
    }

    /** Digest records handed to {@link #digestWriter} and not yet written. */
    private final java.util.concurrent.atomic.AtomicInteger digestsQueued = new java.util.concurrent.atomic.AtomicInteger();

    private void noteGateways(Frame f) {
        synchronized (gateways) {
            for (IngressEvent e : f.events()) {
                if (e instanceof IngressEvent.Open o) {
                    gateways.add(ConnectionIds.gateway(o.connection()));
                } else if (e instanceof IngressEvent.GatewayLost lost) {
                    if (lost.gateway() == IngressEvent.GatewayLost.ALL) {
                        gateways.clear();
                    } else {
                        gateways.remove(lost.gateway());
                    }
                    gateways.addAll(options.gateways());
                }
            }
        }
    }

    /** Splits outputs by destination: each gateway gets those for its connections, the sequencer the timers. */
    private void route(long seq, List<Output> outputs) {
        Map<Integer, List<Output>> byGateway = new LinkedHashMap<>();
        List<Output> control = new ArrayList<>();
        List<Output> appWide = new ArrayList<>();
        List<Output> upstream = new ArrayList<>();
        for (Output o : outputs) {
            long conn = connectionOf(o);
            if (o instanceof Output.TimerRequest) {
                control.add(o);
            } else if (conn >= 0 && ConnectionIds.gateway(conn) == ConnectionIds.UPSTREAM_GATEWAY) {
                upstream.add(o);
            } else if (conn < 0) {
                appWide.add(o);
            } else {
                byGateway.computeIfAbsent(ConnectionIds.gateway(conn), g -> new ArrayList<>()).add(o);
            }
        }
        if (!appWide.isEmpty()) {
            synchronized (gateways) {
                for (int g : gateways) {
                    byGateway.computeIfAbsent(g, k -> new ArrayList<>()).addAll(appWide);
                }
            }
        }
        for (var e : byGateway.entrySet()) {
            if (!options.outputsFor().test(e.getKey())) {
                continue;
            }
            OutputBatch batch = new OutputBatch(app, replica, seq, e.getValue());
            if (options.localGateways() == null || !options.localGateways().deliver(e.getKey(), batch)) {
                vertx.eventBus().send(Addresses.outputs(e.getKey()), Buffer.buffer(batch.encode()));
            }
        }
        if (!control.isEmpty()) {
            sendControl(new OutputBatch(app, replica, seq, control));
        }
        if (!upstream.isEmpty()) {
            vertx.eventBus().send(Addresses.upstreams(app), Buffer.buffer(new OutputBatch(app, replica, seq, upstream).encode()));
        }
    }

    private static long connectionOf(Output o) {
        if (o instanceof Output.Send s) {
            return s.connection();
        }
        if (o instanceof Output.Close c) {
            return c.connection();
        }
        if (o instanceof Output.Reset r) {
            return r.connection();
        }
        if (o instanceof Output.Window w) {
            return w.connection();
        }
        if (o instanceof Output.Connect c) {
            return c.connection();
        }
        return -1;
    }

    /**
     * Status as of the last frame applied, with the last full-state digest the replica computed (and its frame).
     * It never waits for the guest thread, which may be busy with a long frame.
     */
    public Future<JsonObject> status() {
        GuestStatus s = lastStatus;
        if (s == null) {
            return Future.failedFuture("replica " + replica + " of '" + app + "' is still starting");
        }
        return Future.succeededFuture(new JsonObject()
                .put("replica", replica)
                .put("lastSeq", s.lastSeq())
                .put("state", s.state().name())
                .put("stopReason", s.stopReason())
                .put("digest", lastStateDigest.hex())
                .put("digestSeq", lastStateDigest.seq())
                .put("engine", s.engine())
                .put("waitMode", s.waitMode())
                .put("socketAbi", s.socketAbi())
                .put("memoryPages", s.memoryPages())
                .put("openConnections", s.openConnections())
                .put("openDescriptors", s.openDescriptors())
                .put("outboundConnections", s.outboundConnections())
                .put("refusedConnects", s.refusedConnects())
                .put("fuelConsumed", s.fuelConsumed())
                .put("duplicateBatchesDropped", s.duplicateBatches())
                .put("restarts", s.restarts())
                .put("rollbacks", s.rollbacks())
                .put("connectionsCut", s.connectionsCut())
                .put("lastFault", s.lastFault())
                .put("restoredFrom", restoredFrom)
                .put("module", runningModule)
                .put("snapshotsTaken", snapshotsTaken)
                .put("malformedFrames", malformed)
                .put("gapsFilled", gapsFilled)
                .put("guestTaskFailures", guestTaskFailures));
    }

    /** A state digest was taken (on the digest thread, or on the guest thread when idle): the status shows the newest. */
    private synchronized void noteStateDigest(long seq, String hex) {
        remember(seq, hex);
        if (seq >= lastStateDigest.seq()) {
            lastStateDigest = new StateDigest(seq, hex);
        }
    }

    private void remember(long seq, String digest) {
        recentDigests.put(seq, digest);
        while (recentDigests.size() > RECENT_DIGESTS) {
            recentDigests.pollFirstEntry();
        }
    }

    /** The replica's recent full-state digests (frame -> hex SHA-256), oldest first; any thread. */
    public java.util.SortedMap<Long, String> recentDigests() {
        return new java.util.TreeMap<>(recentDigests);
    }

    /** The node's metrics registry, or null: no meters. */
    private io.micrometer.core.instrument.MeterRegistry registry;
    private volatile ReplicaMeters meters;

    /** Makes this (not yet deployed) replica record its meters into {@code registry} while it runs. */
    public ReplicaVerticle withMeters(io.micrometer.core.instrument.MeterRegistry registry) {
        this.registry = registry;
        return this;
    }

    /** A state handed over in memory to start from (a replica added at run time), or null: used once, at start. */
    private volatile io.replicode.replay.SnapshotStore.Stored startingState;

    /**
     * Makes this (not yet deployed) replica start from {@code state}, a snapshot handed over in memory (from
     * {@link #snapshotNow} of a running replica), instead of its newest stored snapshot: no file written and read back
     * on the way. The caller stores it too, so a restart finds it.
     */
    public ReplicaVerticle startingFrom(io.replicode.replay.SnapshotStore.Stored state) {
        this.startingState = state;
        return this;
    }

    /**
     * A copy of this replica's state now, as an uncompressed snapshot, and the frame it was taken after: what a replica
     * added at run time starts from, so it has only the frames since to apply (a stored snapshot may be thousands of
     * frames old under load). Taken on the guest thread between frames (a copy of the state: milliseconds for tens of
     * MB). Fails for a module that cannot snapshot.
     */
    public Future<io.replicode.replay.SnapshotStore.Stored> snapshotNow() {
        return onGuest(() -> {
            byte[] state = machine.snapshotUncompressed();
            return new io.replicode.replay.SnapshotStore.Stored(machine.lastSeq(), state);
        });
    }

    public long appliedSeq() {
        return appliedSeq;
    }

    /**
     * The size of the last snapshot this replica took, uncompressed (0 before its first in this run): the state bytes
     * each replica copies, compresses and writes at a snapshot. Any thread.
     */
    public long snapshotStateBytes() {
        return snapshotStateBytes;
    }

    private volatile long snapshotStateBytes;

    /** How long restoring its snapshot took at start, in ms (0 when it started from genesis). */
    public long restoreMs() {
        return restoreMs;
    }

    /**
     * As {@link #onGuest} for a task whose result nobody waits for (a frame to apply): only a failure comes back to
     * the event loop, so the loop is not woken once more per frame to complete a future.
     */
    private void onGuestNoResult(Callable<?> task, java.util.function.Consumer<Throwable> onFailure) {
        if (guestThread.isShutdown()) {
            onFailure.accept(new IllegalStateException("replica " + replica + " of '" + app + "' is stopped"));
            return;
        }
        guestTasks.incrementAndGet();
        guestThread.execute(() -> {
            try {
                task.call();
                digestWhenIdle();
            } catch (Throwable t) {
                context.runOnContext(v -> onFailure.accept(t));
            } finally {
                guestTasks.decrementAndGet();
            }
        });
    }

    private <T> Future<T> onGuest(Callable<T> task) {
        Promise<T> done = Promise.promise();
        if (guestThread.isShutdown()) {
            return Future.failedFuture("replica " + replica + " of '" + app + "' is stopped");
        }
        guestTasks.incrementAndGet();
        guestThread.execute(() -> {
            try {
                T r = task.call();
                digestWhenIdle();
                context.runOnContext(v -> done.complete(r));
            } catch (Throwable t) {
                context.runOnContext(v -> done.fail(t));
            } finally {
                guestTasks.decrementAndGet();
            }
        });
        return done.future();
    }
}
