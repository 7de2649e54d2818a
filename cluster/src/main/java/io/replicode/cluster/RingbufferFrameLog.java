package io.replicode.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.ringbuffer.OverflowPolicy;
import com.hazelcast.ringbuffer.ReadResultSet;
import com.hazelcast.ringbuffer.Ringbuffer;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The durable, ordered frame log of one app in a cluster: the Hazelcast ringbuffer {@code replicode.frames.<app>}
 * of encoded frames, with synchronous backups and split-brain protection (conf/cluster.xml).
 *
 * <h2>Order and the chain rule</h2>
 * The ring's order is the history's order. With one writer, frame {@code s} is the entry at ring position
 * {@code s - 1}. Hazelcast has no conditional append (and no CP subsystem here), so a second writer, or a retried
 * invocation, can put entries in the ring that are not the next frame; every reader therefore applies the same
 * deterministic rule ({@link RingFold}): an entry is the next frame only if it chains to the last one accepted (seq
 * + 1, prevHash, epoch not lower); anything else is a stray and is skipped by everyone. Hence frame seq = ring
 * position + 1 - (strays before it), and {@link RingCursor} carries that offset.
 *
 * <h2>Appending</h2>
 * One writer per log object. {@link #recover} positions it at the end of the history; {@link #append} then takes
 * frames that continue it. Frames are sent in order, as one {@code addAll} at a time (frames queued meanwhile go in
 * the next one: group commit), and an {@code addAll} puts its frames at consecutive positions. When the returned
 * position is the one expected, the frames are ours and in place (the fast path: no read). When it is later,
 * something else was added in between: the entries are read back and folded, and each of our frames is found by
 * its bytes (16 bytes of fresh entropy make a frame unique). If another writer's frame continued the history first,
 * ours are strays: the append fails {@link RingLogException.Reason#FENCED}. After any failure the writer refuses
 * appends until {@link #recover} is called again.
 *
 * <p>Futures complete on the executor given at construction (a Vert.x context, for a verticle), never on a
 * Hazelcast partition or I/O thread. {@link #headSeq()} and {@link #tailSeq()} are blocking calls.
 */
public final class RingbufferFrameLog {
    /** Frame rings are named {@code replicode.frames.<app>}; cluster.xml configures them by this prefix. */
    public static final String RING_PREFIX = "replicode.frames.";
    /** Hazelcast reads and adds at most this many ringbuffer items per call. */
    public static final int MAX_BATCH = 1000;
    /** Most entries one {@link #readMany} examines (one read also fetches the entry before, to check the cursor). */
    public static final int MAX_READ_ENTRIES = MAX_BATCH - 1;

    /**
     * @param maxBatchFrames   most frames in one {@code addAll} (1..1000)
     * @param maxBatchBytes    most encoded bytes in one {@code addAll} (a larger single frame goes alone)
     * @param maxPendingFrames most frames waiting for acknowledgement; beyond it append refuses (the caller is
     *                         ignoring back-pressure)
     */
    public record Options(int maxBatchFrames, int maxBatchBytes, int maxPendingFrames) {
        public static final Options DEFAULT = new Options(256, 4 << 20, 100_000);

        public Options {
            if (maxBatchFrames < 1 || maxBatchFrames > MAX_BATCH || maxBatchBytes < 1 || maxPendingFrames < maxBatchFrames) {
                throw new IllegalArgumentException("ring log options out of range: " + this);
            }
        }
    }

    private record Pending(Frame frame, byte[] bytes, CompletableFuture<Long> done) {}

    private record Raw(long seq, byte[] bytes) {}

    private final String app;
    private final String name;
    private final HazelcastInstance hazelcast;
    private final Ringbuffer<byte[]> ring;
    private final Options options;
    private final Executor callbacks;
    private final long capacity;
    /** Hazelcast reads at most this many items per call (the smaller of its batch limit and the capacity). */
    private final int maxRead;

    private final Object lock = new Object();
    /** The history up to the last frame this writer knows stored; null until {@link #recover}. */
    private RingCursor confirmed;
    private long queuedSeq;
    private byte[] queuedHash;
    private long queuedEpoch;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private List<Pending> inFlight;
    private boolean recovering;
    private RingLogException failure;

    /** Callbacks of logs created without an executor: daemon threads, so a forgotten log never holds the JVM. */
    private static final ExecutorService SHARED_CALLBACKS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "replicode-ring-callbacks");
        t.setDaemon(true);
        return t;
    });

    /** The frame log of {@code app}, completing its futures on a shared daemon pool. */
    public RingbufferFrameLog(HazelcastInstance hazelcast, String app) {
        this(hazelcast, app, Options.DEFAULT, SHARED_CALLBACKS);
    }

    /** The frame log of {@code app}, completing its futures on {@code callbacks}. */
    public RingbufferFrameLog(HazelcastInstance hazelcast, String app, Options options, Executor callbacks) {
        this.app = app;
        this.name = ringName(app);
        this.hazelcast = hazelcast;
        this.ring = hazelcast.getRingbuffer(name);
        this.options = options;
        this.callbacks = callbacks;
        this.capacity = ring.capacity();
        if (capacity < 2) {
            throw new IllegalStateException("ring " + name + " has capacity " + capacity + "; a frame ring needs at least 2");
        }
        this.maxRead = (int) Math.min(MAX_BATCH, capacity);
    }

    /** The ringbuffer name of {@code app}'s frame log. */
    public static String ringName(String app) {
        return RING_PREFIX + app;
    }

    public String app() {
        return app;
    }

    public String ringName() {
        return name;
    }

    /** Oldest ring position still held. A remote call when this member does not own the ring's partition. */
    public long headSeq() {
        return ring.headSequence();
    }

    /** Newest ring position, -1 when the ring is empty. A remote call when this member does not own the partition. */
    public long tailSeq() {
        return ring.tailSequence();
    }

    /** Frames the ring holds at most before it overwrites the oldest. */
    public long capacity() {
        return capacity;
    }

    /** Where this writer stands: after the last frame it knows stored. Null before {@link #recover}. */
    public RingCursor cursor() {
        synchronized (lock) {
            return confirmed;
        }
    }

    // ---------------------------------------------------------------------------------------------- reading

    /**
     * Reads up to {@code maxEntries} ring entries after {@code from} and returns the frames of the history among
     * them, with the cursor to continue from. Fails with {@link RingLogException.Reason#OVERRUN} when the ring has
     * overwritten {@code from}'s next position (load a snapshot), and {@link RingLogException.Reason#RING_RESTARTED}
     * when the ring is behind {@code from}.
     */
    public CompletableFuture<RingRead> readMany(RingCursor from, int maxEntries) {
        if (maxEntries < 1 || maxEntries > MAX_READ_ENTRIES) {
            throw new IllegalArgumentException("readMany takes 1.." + MAX_READ_ENTRIES + " entries, got " + maxEntries);
        }
        return readRaw(from, maxEntries).thenApply(entries -> {
            RingFold fold = new RingFold(app, from);
            List<Frame> frames = new ArrayList<>();
            for (Raw e : entries) {
                Frame f = fold.offer(e.seq, e.bytes);
                if (f != null) {
                    frames.add(f);
                }
            }
            return new RingRead(frames, fold.cursor(), (int) fold.strays());
        });
    }

    /**
     * The cursor just after a frame a reader already has (its seq and hash, e.g. the last frame a replica applied),
     * found in the ring: where that reader continues with {@link #readMany}. Frame 0 is {@link RingCursor#GENESIS}.
     */
    public CompletableFuture<RingCursor> locate(long frameSeq, byte[] frameHash) {
        if (frameSeq == 0) {
            return CompletableFuture.completedFuture(RingCursor.GENESIS);
        }
        // Frame s is never before position s - 1; strays before it push it later.
        return locateFrom(frameSeq - 1, frameSeq, frameHash);
    }

    private CompletableFuture<RingCursor> locateFrom(long position, long frameSeq, byte[] frameHash) {
        return readPage(position, MAX_READ_ENTRIES).thenCompose(rs -> {
            if (rs.size() == 0) {
                return CompletableFuture.failedFuture(new RingLogException(RingLogException.Reason.RING_RESTARTED,
                        "frame " + frameSeq + " of '" + app + "' is not in ring " + name + " at or after position " + position
                                + ": the ring holds less. Fix: load a snapshot (the ring was lost with every member "
                                + "holding it, or the frame was never appended)"));
            }
            if (rs.getSequence(0) > position) {
                return CompletableFuture.failedFuture(overrun(position, rs.getSequence(0)));
            }
            for (int i = 0; i < rs.size(); i++) {
                byte[] entry = rs.get(i);
                if (Arrays.equals(FrameCodec.hash(entry), frameHash)) {
                    Frame f = FrameCodec.decode(entry);
                    return CompletableFuture.completedFuture(new RingCursor(rs.getSequence(i) + 1, frameSeq, frameHash, f.epoch()));
                }
            }
            return locateFrom(rs.getSequence(rs.size() - 1) + 1, frameSeq, frameHash);
        });
    }

    /**
     * Entries from {@code from.nextRingSeq()} on, at most {@code max}, checked against the cursor: Hazelcast
     * silently moves a read that starts before the head up to it, and one past the tail down to it, so the read
     * starts one entry early (the one the cursor examined last) and a missing or moved entry is reported.
     */
    private CompletableFuture<List<Raw>> readRaw(RingCursor from, int max) {
        long next = from.nextRingSeq();
        long start = next == 0 ? 0 : next - 1;
        return readPage(start, next == 0 ? max : max + 1).thenCompose(rs -> {
            if (rs.size() == 0) {
                if (next == 0) {
                    return CompletableFuture.completedFuture(List.<Raw>of());
                }
                return CompletableFuture.failedFuture(ringBehind(from));
            }
            long first = rs.getSequence(0);
            if (first > start) {
                return CompletableFuture.failedFuture(overrun(next, first));
            }
            int skip = next == 0 ? 0 : 1;
            if (next > 0 && from.strays() == 0 && !Arrays.equals(FrameCodec.hash(rs.get(0)), from.lastFrameHash())) {
                // With no strays before it, position next-1 holds the cursor's last frame; something else means another ring.
                return CompletableFuture.failedFuture(ringBehind(from));
            }
            List<Raw> out = new ArrayList<>(rs.size() - skip);
            for (int i = skip; i < rs.size(); i++) {
                out.add(new Raw(rs.getSequence(i), rs.get(i)));
            }
            return CompletableFuture.completedFuture(out);
        });
    }

    private CompletableFuture<ReadResultSet<byte[]>> readPage(long start, int max) {
        return onCallbacks(ring.readManyAsync(start, 0, Math.min(max, maxRead), null));
    }

    /** Moves a Hazelcast completion off Hazelcast's threads. */
    private <T> CompletableFuture<T> onCallbacks(CompletionStage<T> stage) {
        CompletableFuture<T> out = new CompletableFuture<>();
        stage.whenCompleteAsync((v, err) -> {
            if (err != null) {
                out.completeExceptionally(unwrap(err));
            } else {
                out.complete(v);
            }
        }, callbacks);
        return out;
    }

    private RingLogException overrun(long wanted, long head) {
        return new RingLogException(RingLogException.Reason.OVERRUN, "ring " + name + " no longer holds position " + wanted
                + " (its oldest entry is " + head + ", capacity " + capacity + "): the reader fell behind the ring. "
                + "Fix: load a snapshot at or after the ring's oldest frame, then read on from the ring");
    }

    private RingLogException ringBehind(RingCursor from) {
        return new RingLogException(RingLogException.Reason.RING_RESTARTED, "ring " + name + " does not hold "
                + from + " any more: it started again (every member holding it was lost). Fix: the cluster's frame "
                + "history must be restored from the members' replay logs before sequencing resumes");
    }

    // ---------------------------------------------------------------------------------------------- writing

    /**
     * Reads the ring from {@code from} to its end and makes this writer continue the history there; returns the
     * cursor after the last frame. Must not be called while appends are in flight. {@code from} is
     * {@link RingCursor#GENESIS} for a new app, {@link #cursor()} after a failure, or where a new sequencer's
     * local state ends (found with {@link #locate}).
     */
    public CompletableFuture<RingCursor> recover(RingCursor from) {
        synchronized (lock) {
            if (inFlight != null || !pending.isEmpty() || recovering) {
                throw new IllegalStateException("ring log of '" + app + "': recover while appends are in flight");
            }
            recovering = true;
        }
        return readToEnd(from).whenComplete((end, err) -> {
            synchronized (lock) {
                recovering = false;
                if (err == null) {
                    confirmed = end;
                    queuedSeq = end.lastFrameSeq();
                    queuedHash = end.lastFrameHash();
                    queuedEpoch = end.lastEpoch();
                    failure = null;
                }
            }
        });
    }

    private CompletableFuture<RingCursor> readToEnd(RingCursor from) {
        return readMany(from, MAX_READ_ENTRIES).thenCompose(read -> read.next().nextRingSeq() == from.nextRingSeq()
                ? CompletableFuture.completedFuture(from)
                : readToEnd(read.next()));
    }

    /**
     * Appends the next frame of the history: its seq one more than the last frame appended (or recovered), its
     * prevHash that frame's hash, its epoch not lower. The future completes with the frame's ring position once the
     * ring and its synchronous backups hold it, or fails with a {@link RingLogException}.
     */
    public CompletableFuture<Long> append(Frame frame) {
        return append(frame, FrameCodec.encode(frame));
    }

    /** As {@link #append(Frame)}, with the frame's encoding at hand (the sequencer hashed it already). */
    public CompletableFuture<Long> append(Frame frame, byte[] bytes) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        List<Pending> batch;
        synchronized (lock) {
            if (confirmed == null || recovering) {
                throw new IllegalStateException("ring log of '" + app + "' is not positioned: call recover() before appending");
            }
            if (failure != null) {
                done.completeExceptionally(failure);
                return done;
            }
            if (!frame.app().equals(app)) {
                throw new IllegalArgumentException("frame of app '" + frame.app() + "' appended to ring " + name);
            }
            if (frame.seq() != queuedSeq + 1) {
                throw new IllegalArgumentException("ring " + name + " expects frame " + (queuedSeq + 1) + ", got " + frame.seq());
            }
            if (!Arrays.equals(frame.prevHash(), queuedHash)) {
                throw new IllegalArgumentException("frame " + frame.seq() + " does not chain to frame " + queuedSeq
                        + " of ring " + name + " (prevHash differs)");
            }
            if (frame.epoch() < queuedEpoch) {
                throw new IllegalArgumentException("frame " + frame.seq() + " has epoch " + frame.epoch() + ", below "
                        + queuedEpoch + " of the frame before it");
            }
            if (pending.size() >= options.maxPendingFrames()) {
                throw new IllegalStateException("ring " + name + " has " + pending.size() + " frames waiting (limit "
                        + options.maxPendingFrames() + "): the caller must wait for appends to complete");
            }
            pending.add(new Pending(frame, bytes, done));
            queuedSeq = frame.seq();
            queuedHash = FrameCodec.hash(bytes);
            queuedEpoch = frame.epoch();
            batch = inFlight == null ? takeBatch() : null;
        }
        if (batch != null) {
            send(batch);
        }
        return done;
    }

    /** Under the lock: the next batch to send, now in flight. */
    private List<Pending> takeBatch() {
        List<Pending> batch = new ArrayList<>();
        long bytes = 0;
        while (!pending.isEmpty() && batch.size() < options.maxBatchFrames()) {
            Pending p = pending.peek();
            if (!batch.isEmpty() && bytes + p.bytes.length > options.maxBatchBytes()) {
                break;
            }
            batch.add(pending.poll());
            bytes += p.bytes.length;
        }
        inFlight = batch.isEmpty() ? null : batch;
        return inFlight;
    }

    private void send(List<Pending> batch) {
        List<byte[]> items = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            items.add(p.bytes);
        }
        // OVERWRITE states what happens anyway: without a TTL Hazelcast's FAIL policy also overwrites the oldest.
        onCallbacks(ring.addAllAsync(items, OverflowPolicy.OVERWRITE)).whenComplete((last, err) -> {
            if (err != null) {
                fail(batch, classify(batch, unwrap(err)));
                return;
            }
            long first = last - batch.size() + 1;
            RingCursor at;
            synchronized (lock) {
                at = confirmed;
            }
            if (first == at.nextRingSeq()) {
                long offset = first - (batch.get(0).frame.seq() - 1);
                if (offset != at.strays()) {
                    // frame seq = ring position + 1 - strays: enqueue checks make this hold; a miss is a bug.
                    fail(batch, new RingLogException(RingLogException.Reason.UNCERTAIN, "ring " + name + ": frame "
                            + batch.get(0).frame.seq() + " at position " + first + " but " + at.strays()
                            + " strays before it (a bug). Fix: report it"));
                    return;
                }
                Pending lastFrame = batch.get(batch.size() - 1);
                RingCursor end = new RingCursor(last + 1, lastFrame.frame.seq(), FrameCodec.hash(lastFrame.bytes),
                        lastFrame.frame.epoch());
                long[] positions = new long[batch.size()];
                for (int i = 0; i < positions.length; i++) {
                    positions[i] = first + i;
                }
                succeed(batch, positions, end, null);
            } else if (first > at.nextRingSeq()) {
                verify(batch, at, last);
            } else {
                fail(batch, new RingLogException(RingLogException.Reason.RING_RESTARTED, "ring " + name + " put frames "
                        + batch.get(0).frame.seq() + ".. at position " + first + ", before " + at.nextRingSeq()
                        + " where this writer stands: the ring started again (every member holding it was lost). "
                        + "Fix: restore the history from the replay logs before sequencing resumes"));
            }
        });
    }

    /** The slow path: entries landed between ours and where we stood; fold them and find our frames by their bytes. */
    private void verify(List<Pending> batch, RingCursor at, long last) {
        RingFold fold = new RingFold(app, at);
        long[] positions = new long[batch.size()];
        int[] ours = {0};
        Frame[] foreign = {null};
        long[] foreignAt = {-1};
        verifyPage(batch, fold, last, positions, ours, foreign, foreignAt).whenComplete((v, err) -> {
            if (err != null) {
                fail(batch, unwrap(err) instanceof RingLogException r ? r
                        : classify(batch, unwrap(err)));
                return;
            }
            if (ours[0] == batch.size()) {
                RingLogException fence = foreign[0] == null ? null : fenced(foreign[0], foreignAt[0]);
                succeed(batch, positions, fold.cursor(), fence);
            } else {
                if (foreign[0] == null) {
                    // Our frames chain to where we stood, so the first of them that the fold reaches is accepted.
                    fail(batch, new RingLogException(RingLogException.Reason.UNCERTAIN, "ring " + name + ": frames "
                            + batch.get(0).frame.seq() + ".. neither found nor displaced between positions "
                            + at.nextRingSeq() + " and " + last + " (a bug: the chain rule broke). Fix: report it"));
                    return;
                }
                RingLogException fence = fenced(foreign[0], foreignAt[0]);
                synchronized (lock) {
                    confirmed = fold.cursor();
                }
                fail(batch, fence);
            }
        });
    }

    private CompletableFuture<Void> verifyPage(List<Pending> batch, RingFold fold, long last, long[] positions, int[] ours,
                                               Frame[] foreign, long[] foreignAt) {
        RingCursor from = fold.cursor();
        if (from.nextRingSeq() > last) {
            return CompletableFuture.completedFuture(null);
        }
        int max = (int) Math.min(MAX_READ_ENTRIES, last - from.nextRingSeq() + 1);
        return readRaw(from, max).thenCompose(entries -> {
            if (entries.isEmpty()) {
                return CompletableFuture.failedFuture(ringBehind(from));
            }
            for (Raw e : entries) {
                Frame f = fold.offer(e.seq, e.bytes);
                if (f == null || foreign[0] != null) {
                    continue;
                }
                if (ours[0] < batch.size() && Arrays.equals(e.bytes, batch.get(ours[0]).bytes)) {
                    positions[ours[0]++] = e.seq;
                } else {
                    foreign[0] = f;
                    foreignAt[0] = e.seq;
                }
            }
            return verifyPage(batch, fold, last, positions, ours, foreign, foreignAt);
        });
    }

    private RingLogException fenced(Frame winner, long position) {
        return new RingLogException(RingLogException.Reason.FENCED, "another sequencer appended frame " + winner.seq()
                + " (epoch " + winner.epoch() + ") of '" + app + "' at ring position " + position + " first: this "
                + "writer's frames from there on are strays. It must stop, or recover() and continue after that frame");
    }

    private void succeed(List<Pending> batch, long[] positions, RingCursor end, RingLogException fenceAfter) {
        List<Pending> next;
        List<Pending> dropped = List.of();
        synchronized (lock) {
            confirmed = end;
            inFlight = null;
            if (fenceAfter != null) {
                failure = fenceAfter;
                dropped = new ArrayList<>(pending);
                pending.clear();
                next = null;
            } else {
                next = takeBatch();
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).done.complete(positions[i]);
        }
        for (Pending p : dropped) {
            p.done.completeExceptionally(fenceAfter);
        }
        if (next != null) {
            send(next);
        }
    }

    private void fail(List<Pending> batch, RingLogException cause) {
        List<Pending> dropped;
        synchronized (lock) {
            failure = cause;
            inFlight = null;
            dropped = new ArrayList<>(batch);
            dropped.addAll(pending);
            pending.clear();
        }
        for (Pending p : dropped) {
            p.done.completeExceptionally(cause);
        }
    }

    private RingLogException classify(List<Pending> batch, Throwable err) {
        String frames = "frames " + batch.get(0).frame.seq() + ".." + batch.get(batch.size() - 1).frame.seq();
        for (Throwable t = err; t != null; t = t.getCause()) {
            if (t instanceof SplitBrainProtectionException) {
                int seen = hazelcast.getCluster().getMembers().size();
                return new RingLogException(RingLogException.Reason.MINORITY, "app '" + app + "': " + frames + " not appended: "
                        + "this member sees " + seen + " member(s), below the minimum cluster size for appending frames. "
                        + "It is cut off from the majority (or the cluster lost members) and refuses to sequence until it "
                        + "sees enough members again", err);
            }
        }
        return new RingLogException(RingLogException.Reason.UNCERTAIN, "app '" + app + "': appending " + frames + " to ring "
                + name + " failed (" + err + "); they may or may not be stored. Fix: recover() reads the ring to find out", err);
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
