package io.replicode.sequencer;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.EventCodec;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Decides when and how one app's ingress events become frames: the ordering context of one app.
 *
 * <p>Batching is adaptive, like group commit: when no frame is in flight (every frame cut so far is
 * durable) the next event is cut into a frame at once, so an idle app answers with one frame of latency;
 * while a frame is being made durable, events accumulate and are cut when the batch is full (events or
 * bytes) or when the batch interval has passed. A frame never exceeds {@code maxFrameBytes} of events:
 * larger writes are split into several Data events. Timer requests from the guest become tick frames
 * (no events) at their time. Frame time never decreases, seqs have no gaps, and every frame carries the
 * hash of its predecessor.
 *
 * <p>Ingress enters with {@link #offerBatch}, which puts a {@link IngressEvent.Batch} mark naming the gateway
 * and its batchSeq before the batch's events, and events the sequencer makes itself with {@link #offerOwn},
 * behind a {@code Batch(0, 0)} mark. Replicas drop a batch whose (gateway, batchSeq) they already applied
 * (a gateway resends unacknowledged batches after a sequencer failover), so every event in the frame
 * history must sit behind the right mark: a batch may be split over several frames, but never interleaved
 * with another batch.
 *
 * <p>Pure and single-threaded: the caller passes the time and the entropy in and says when a frame is
 * durable, so tests drive it step by step.
 */
public final class FrameSequencer {
    /** Bytes of a frame's fixed fields (version, app, epoch, seq, time, entropy, prevHash, count). */
    private static final int FRAME_OVERHEAD = 1 + 1 + 64 + 24 + 1 + 64 + 32 + 4;
    /** Bytes of a Data event's own fields (type, connection, length). */
    private static final int DATA_OVERHEAD = 1 + 8 + 4;

    /**
     * @param maxEventsPerFrame most events in one frame
     * @param maxFrameBytes     most encoded event bytes in one frame (default 64 KiB)
     * @param batchIntervalNs   longest time an event waits while a frame is in flight
     * @param maxPendingEvents  events waiting beyond which {@link #offerBatch} refuses more (the caller pauses)
     * @param snapshotEveryFrames a frame asks for a snapshot when this many frames passed since the last request
     *                          (0: never by count)
     * @param snapshotEveryNs   ... or when this much frame time passed since it (0: never by time)
     * @param lingerNs          under load, how long the first event of a frame may wait, with nothing in flight, for
     *                          three quarters as many events as the last frame took (0: never; see {@link #lingering})
     */
    public record Options(int maxEventsPerFrame, int maxFrameBytes, long batchIntervalNs, int maxPendingEvents,
                          long snapshotEveryFrames, long snapshotEveryNs, long lingerNs) {
        public static final Options DEFAULT = new Options(256, 64 << 10, 2_000_000L, 100_000, 1000, 60_000_000_000L,
                250_000L);

        public Options {
            if (maxEventsPerFrame < 1 || maxFrameBytes < 1024 || batchIntervalNs < 0 || maxPendingEvents < maxEventsPerFrame
                    || snapshotEveryFrames < 0 || snapshotEveryNs < 0 || lingerNs < 0 || lingerNs > batchIntervalNs) {
                throw new IllegalArgumentException("sequencer options out of range: " + this);
            }
        }

        /** Options that never linger. */
        public Options(int maxEventsPerFrame, int maxFrameBytes, long batchIntervalNs, int maxPendingEvents,
                       long snapshotEveryFrames, long snapshotEveryNs) {
            this(maxEventsPerFrame, maxFrameBytes, batchIntervalNs, maxPendingEvents, snapshotEveryFrames, snapshotEveryNs, 0);
        }

        /** Options that never ask for snapshots and never linger. */
        public Options(int maxEventsPerFrame, int maxFrameBytes, long batchIntervalNs, int maxPendingEvents) {
            this(maxEventsPerFrame, maxFrameBytes, batchIntervalNs, maxPendingEvents, 0, 0);
        }
    }

    /** A frame of fewer events than this is not "under load": the next one is cut at once. */
    static final int LINGER_MIN_EVENTS = 8;

    private final String app;
    private final long epoch;
    private final Options options;
    private final ArrayDeque<IngressEvent> pending = new ArrayDeque<>();
    private final TreeSet<Long> timers = new TreeSet<>();
    private long pendingSinceNs = -1;
    private long nextSeq;
    private long lastTimeNs;
    private byte[] lastHash;
    /** The encoding of the frame {@link #next} returned last (hashed for the chain; the log and bus reuse it). */
    private byte[] lastEncoded;
    private long inFlight;
    private long lastDurableSeq;
    private long framesSinceSnapshot;
    /** Encoded bytes of the frames cut since the last snapshot request (of this run). */
    private long bytesSinceSnapshot;
    /** Size of the app's newest snapshot, as the owner last said (0: unknown, no byte rule). */
    private long snapshotBytes;
    private long lastSnapshotNs = -1;
    /** When the last frame with events was cut, and how many it took. */
    private long lastBatchNs = Long.MIN_VALUE / 2;
    private int lastBatchEvents;

    /** A sequencer continuing after frame {@code lastSeq} (0 for a new app) whose hash is {@code lastHash}. */
    public FrameSequencer(String app, long epoch, Options options, long lastSeq, byte[] lastHash, long lastTimeNs) {
        if (lastHash.length != 32) {
            throw new IllegalArgumentException("lastHash must be 32 bytes");
        }
        this.app = app;
        this.epoch = epoch;
        this.options = options;
        this.nextSeq = lastSeq + 1;
        this.lastHash = lastHash.clone();
        this.lastTimeNs = lastTimeNs;
        this.lastDurableSeq = lastSeq;
    }

    /**
     * Queues gateway {@code batch}, arriving at {@code nowNs}: a {@code Batch(gateway, batchSeq)} mark, then
     * its events (a Data event too large for one frame is split). All or nothing: returns false, and queues
     * nothing, when the mark and the events (after splitting) would take the waiting events beyond
     * {@code maxPendingEvents}; the caller must pause its sources rather than buffer without bound. The
     * sequencer does not drop duplicate batches itself: the replicas do, deterministically, from the marks.
     *
     * @throws IllegalArgumentException if the batch's gateway is 0 (the sequencer's own) or not a gateway id
     */
    public boolean offerBatch(IngressBatch batch, long nowNs) {
        if (batch.gateway() < 1 || batch.gateway() > ConnectionIds.MAX_GATEWAY) {
            throw new IllegalArgumentException("ingress batch from gateway " + batch.gateway() + ": gateway ids are 1.."
                    + ConnectionIds.MAX_GATEWAY + " (0 marks the sequencer's own events)");
        }
        long added = 1;
        for (IngressEvent e : batch.events()) {
            added += pieces(e);
        }
        if (pending.size() + added > options.maxPendingEvents()) {
            return false;
        }
        queue(new IngressEvent.Batch(batch.gateway(), batch.batchSeq()), nowNs);
        for (IngressEvent e : batch.events()) {
            queue(e, nowNs);
        }
        return true;
    }

    /**
     * Queues an event the sequencer makes itself (such as {@link IngressEvent.GatewayLost} after a restart or
     * when a gateway leaves), behind a {@code Batch(0, 0)} mark so that replicas never drop it as part of a
     * duplicate gateway batch. Same refusal rule as {@link #offerBatch}.
     */
    public boolean offerOwn(IngressEvent event, long nowNs) {
        if (pending.size() + 1 + pieces(event) > options.maxPendingEvents()) {
            return false;
        }
        queue(new IngressEvent.Batch(IngressEvent.Batch.SEQUENCER, 0), nowNs);
        queue(event, nowNs);
        return true;
    }

    /**
     * Queues one event with no mark: replicas count it as part of whatever batch the frame history is in at
     * that point, so it is dropped if that batch is a duplicate. Only for producers that never mark (tests,
     * tools, logs written before marks existed); ingress goes through {@link #offerBatch} and
     * {@link #offerOwn}. Returns false (and queues nothing) when {@code maxPendingEvents} are already waiting.
     */
    public boolean offer(IngressEvent event, long nowNs) {
        if (pending.size() >= options.maxPendingEvents()) {
            return false;
        }
        queue(event, nowNs);
        return true;
    }

    /** How many events {@code event} becomes in the queue: a Data event too large for one frame is split. */
    private long pieces(IngressEvent event) {
        int chunk = options.maxFrameBytes() - DATA_OVERHEAD;
        if (event instanceof IngressEvent.Data d && d.bytes().length > chunk) {
            return (d.bytes().length + chunk - 1) / chunk;
        }
        return 1;
    }

    private void queue(IngressEvent event, long nowNs) {
        if (pending.isEmpty()) {
            pendingSinceNs = nowNs;
        }
        int chunk = options.maxFrameBytes() - DATA_OVERHEAD;
        if (event instanceof IngressEvent.Data d && d.bytes().length > chunk) {
            byte[] b = d.bytes();
            for (int from = 0; from < b.length; from += chunk) {
                pending.addLast(new IngressEvent.Data(d.connection(), Arrays.copyOfRange(b, from, Math.min(b.length, from + chunk))));
            }
        } else {
            pending.addLast(event);
        }
    }

    /** The guest waits until {@code atNs}: a frame (a tick if nothing else) will be cut at that time. */
    public void requestTimer(long atNs) {
        // A deadline already past fires on the next call to next(), with the current time.
        timers.add(atNs);
    }

    /** The guest's timer requests among a replica's control outputs (anything else there is not for the sequencer). */
    /**
     * The timer requests in an encoded {@link io.replicode.nat.OutputBatch} a replica sent on the app's control address;
     * false (and nothing requested) when the bytes are not one.
     */
    public boolean requestTimers(byte[] encodedOutputBatch) {
        io.replicode.nat.OutputBatch batch;
        try {
            batch = io.replicode.nat.OutputBatch.decode(encodedOutputBatch);
        } catch (io.replicode.nat.CodecException e) {
            return false;
        }
        requestTimers(batch.outputs());
        return true;
    }

    public void requestTimers(List<io.replicode.nat.Output> control) {
        for (io.replicode.nat.Output o : control) {
            if (o instanceof io.replicode.nat.Output.TimerRequest t) {
                requestTimer(t.atNs());
            }
        }
    }

    /** Frame {@code seq} is durable: with nothing left in flight, the next events are cut at once. */
    public void durable(long seq) {
        if (seq > lastDurableSeq) {
            inFlight -= seq - lastDurableSeq;
            lastDurableSeq = seq;
        }
    }

    /** The encoding of the frame {@link #next} returned last, so it is not encoded again to log and publish. */
    public byte[] lastEncoded() {
        return lastEncoded;
    }

    public int pendingEvents() {
        return pending.size();
    }

    public long lastSeq() {
        return nextSeq - 1;
    }

    /** The earliest time at which {@link #next} may return a frame without new input, or Long.MAX_VALUE. */
    public long wakeAtNs() {
        long at = Long.MAX_VALUE;
        if (!pending.isEmpty()) {
            if (inFlight > 0) {
                at = pendingSinceNs + options.batchIntervalNs();
            } else {
                at = lingering(pendingSinceNs) ? pendingSinceNs + options.lingerNs() : pendingSinceNs;
            }
        }
        if (!timers.isEmpty()) {
            at = Math.min(at, timers.first());
        }
        return at;
    }

    /** The next frame due at {@code nowNs}, or null when none is. Call again until it returns null. */
    public Frame next(long nowNs, byte[] entropy) {
        boolean idleDue = inFlight == 0 && (!lingering(pendingSinceNs) || nowNs >= pendingSinceNs + options.lingerNs());
        boolean batchDue = !pending.isEmpty() && (idleDue || pending.size() >= options.maxEventsPerFrame()
                || pendingBytesAtLeast(options.maxFrameBytes()) || nowNs >= pendingSinceNs + options.batchIntervalNs());
        boolean timerDue = !timers.isEmpty() && timers.first() <= nowNs;
        if (!batchDue && !timerDue) {
            return null;
        }
        List<IngressEvent> events = batchDue ? takeBatch() : new ArrayList<>();
        if (batchDue) {
            lastBatchNs = nowNs;
            lastBatchEvents = events.size();
        }
        while (!timers.isEmpty() && timers.first() <= nowNs) {
            timers.pollFirst();
        }
        lastTimeNs = Math.max(lastTimeNs, nowNs);
        if (snapshotDue()) {
            events.add(new IngressEvent.SnapshotRequest());
            framesSinceSnapshot = 0;
            bytesSinceSnapshot = 0;
            lastSnapshotNs = lastTimeNs;
        } else {
            framesSinceSnapshot++;
        }
        Frame f = new Frame(app, epoch, nextSeq++, lastTimeNs, entropy, events, lastHash);
        lastEncoded = FrameCodec.encode(f);
        bytesSinceSnapshot += lastEncoded.length;
        lastHash = FrameCodec.hash(lastEncoded);
        inFlight++;
        pendingSinceNs = pending.isEmpty() ? -1 : nowNs;
        return f;
    }

    /**
     * Whether events that started waiting at {@code sinceNs}, with nothing in flight, wait a little longer (up to
     * {@code lingerNs}) for more: only under load, that is when the last frame took at least {@value #LINGER_MIN_EVENTS}
     * events and was cut less than a batch interval before they came, and only until three quarters as many events wait
     * as it took (not all: a frame that took every waiting event would otherwise raise the bar for the next one until
     * every frame waited the whole time).
     *
     * <p>Why: a frame costs about the same CPU however few events it holds (the log's write and fsync, each replica's
     * wake-up, digest and routing). Under {@code redis-benchmark -c 50} the first request after a frame became durable
     * was cut alone into the next frame at once, and the others queued behind it: frames averaged 19 requests. Lingering
     * up to 300 µs for them gave 26-29 requests per frame and less CPU per request (docs/benchmarks.md). A lone client
     * (frames of one or two events) never waits.
     */
    private boolean lingering(long sinceNs) {
        return options.lingerNs() > 0 && lastBatchEvents >= LINGER_MIN_EVENTS
                && pending.size() < lastBatchEvents - lastBatchEvents / 4 && sinceNs - lastBatchNs < options.batchIntervalNs();
    }

    private boolean snapshotDue() {
        if (lastSnapshotNs < 0) {
            lastSnapshotNs = lastTimeNs;
        }
        boolean due = (options.snapshotEveryFrames() > 0 && framesSinceSnapshot + 1 >= options.snapshotEveryFrames())
                || (options.snapshotEveryNs() > 0 && lastTimeNs - lastSnapshotNs >= options.snapshotEveryNs());
        return due && bytesSinceSnapshot >= snapshotBytes;
    }

    /**
     * How many bytes a snapshot of the app costs, as the owner measures it: a cluster member says the size of the newest
     * snapshot file, a single node its last snapshot's state uncompressed (up to 32 MiB) or that file's size if larger.
     * A snapshot is then not asked for (by count or by time) before the frames cut since the last request hold at least
     * as many bytes: every replica copies, compresses, writes and (in a cluster) hands Raft its whole state at each
     * request, so with a large state and small frames a fixed count made snapshots cost more than the work they saved
     * (a 90 MB kv: about 0.9 s of deflate and MD5 per member every 1,000 frames, which at 100 frames/s on 2 CPUs was a
     * quarter of the machine). With the rule, the state bytes a snapshot handles stay about the frame bytes logged, and
     * a restart replays at most that many bytes of frames (or the count, if more). The owner says this whenever it
     * likes; 0 (the default) leaves the count and time rules alone.
     */
    public void snapshotBytes(long bytes) {
        snapshotBytes = Math.max(0, bytes);
    }

    private List<IngressEvent> takeBatch() {
        List<IngressEvent> out = new ArrayList<>();
        int bytes = FRAME_OVERHEAD;
        while (!pending.isEmpty() && out.size() < options.maxEventsPerFrame()) {
            int size = EventCodec.size(pending.peekFirst());
            if (!out.isEmpty() && bytes + size > options.maxFrameBytes() + FRAME_OVERHEAD) {
                break;
            }
            bytes += size;
            out.add(pending.pollFirst());
        }
        return out;
    }

    private boolean pendingBytesAtLeast(int limit) {
        long bytes = 0;
        for (IngressEvent e : pending) {
            bytes += EventCodec.size(e);
            if (bytes >= limit) {
                return true;
            }
        }
        return false;
    }
}
