package io.replicode.cluster;

import io.replicode.nat.Addresses;
import io.replicode.nat.CodecException;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A cluster member's copy of one app's history: its own replay log, kept equal to the frame ring's history, from
 * which the member's replicas read. Frames come from the sequencer's publication; a gap (a frame missed, or frames
 * that were in the ring but not published when a sequencer died) is read back from the ring; a member that is new,
 * or far behind, first loads the newest snapshot a peer offers ({@link SnapshotService}) and restarts its log at that
 * frame, so joining costs one snapshot and the frames after it, however long the history.
 *
 * <p>Every frame is handed to this member's replicas on {@link Addresses#memberFrames} once it is in the log, so a
 * replica that sees a gap finds the frames in the log. The sequencer of the app, when it runs on this member, appends
 * its own frames here ({@link #appendOwn}) before publishing them. All log writes happen on this verticle's context.
 *
 * <p>While following, it also keeps the table "last ingress batch of each gateway" that the frames' batch marks
 * say, which a sequencer starting on this member continues from.
 */
public final class MemberHistory extends VerticleBase {
    /**
     * @param joinFromSnapshotAfter a member this many frames (or more) behind the newest snapshot a peer offers loads
     *                              that snapshot instead of replaying the ring
     * @param tableScanFrames       frames at the end of the log scanned at start for the batch table
     */
    public record Options(long joinFromSnapshotAfter, int tableScanFrames) {
        public static final Options DEFAULT = new Options(1_000, 20_000);
    }

    private static final DeliveryOptions LOCAL_ONLY = new DeliveryOptions().setLocalOnly(true);

    private final String app;
    private final ReplayLog log;
    private final com.hazelcast.core.HazelcastInstance hazelcast;
    private final List<SnapshotStore> stores;
    private final Supplier<List<String>> peers;
    private final Options options;
    private final PrintWriter out;
    private RingbufferFrameLog ring;
    /** Gateway -> last batchSeq in the history as far as the log holds it. */
    private final Map<Integer, Long> batches = new HashMap<>();
    /** The ring cursor after the log's last frame, when known (after a read from the ring). */
    private RingCursor cursor;
    private Future<RingCursor> filling;
    private long highestSeen;
    private long followed;
    private long readFromRing;
    private long malformed;
    private volatile String joinedFrom = "";
    private volatile long joinMs = -1;
    private Runnable fellBehind = () -> {};

    public MemberHistory(String app, ReplayLog log, com.hazelcast.core.HazelcastInstance hazelcast, List<SnapshotStore> stores,
                         Supplier<List<String>> peers, Options options, PrintWriter out) {
        this.app = app;
        this.log = log;
        this.hazelcast = hazelcast;
        this.stores = List.copyOf(stores);
        this.peers = peers;
        this.options = options;
        this.out = out;
    }

    /**
     * Called (on this context) after the member fell behind the ring while running and restarted its log from a
     * peer's snapshot: the replicas must be restarted from that snapshot.
     */
    public void onFellBehind(Runnable handler) {
        this.fellBehind = handler;
    }

    @Override
    public Future<?> start() {
        long t0 = System.nanoTime();
        ring = new RingbufferFrameLog(hazelcast, app, RingbufferFrameLog.Options.DEFAULT, r -> context.runOnContext(v -> r.run()));
        return vertx.executeBlocking(this::scanTable, false)
                .compose(v -> joinFromSnapshotIfBehind())
                .compose(from -> {
                    vertx.eventBus().<Buffer>consumer(Addresses.frames(app), m -> onFrame(m.body()));
                    return fill().map(c -> {
                        joinMs = (System.nanoTime() - t0) / 1_000_000;
                        joinedFrom = from;
                        return c;
                    });
                });
    }

    /** The local log's last frame, and how it got here: what an operator sees. */
    public JsonObject status() {
        return new JsonObject().put("logFirstSeq", log.firstSeq()).put("logLastSeq", log.lastSeq())
                .put("joinedFrom", joinedFrom).put("joinMs", joinMs).put("framesFollowed", followed)
                .put("framesReadFromRing", readFromRing).put("malformedFrames", malformed);
    }

    public long joinMs() {
        return joinMs;
    }

    // ------------------------------------------------------------------------------------------ joining

    private Void scanTable() {
        long last = log.lastSeq();
        long from = Math.max(log.firstSeq(), last - options.tableScanFrames() + 1);
        Map<Integer, Long> table = new HashMap<>();
        while (from <= last) {
            List<Frame> frames = log.read(from, 1024);
            if (frames.isEmpty()) {
                break;
            }
            for (Frame f : frames) {
                note(table, f);
                from = f.seq() + 1;
            }
        }
        context.runOnContext(v -> batches.putAll(table));
        return null;
    }

    private static void note(Map<Integer, Long> table, Frame f) {
        for (IngressEvent e : f.events()) {
            if (e instanceof IngressEvent.Batch b && b.gateway() > 0) {
                table.merge(b.gateway(), b.batchSeq(), Math::max);
            } else if (e instanceof IngressEvent.GatewayLost g) {
                if (g.gateway() == IngressEvent.GatewayLost.ALL) {
                    table.clear();
                } else {
                    table.remove(g.gateway());
                }
            }
        }
    }

    /** Newest local snapshot seq, 0 without one. */
    private long localSnapshotSeq() {
        long best = 0;
        for (SnapshotStore s : stores) {
            Optional<SnapshotStore.Stored> l = s.latest();
            if (l.isPresent()) {
                best = Math.max(best, l.get().seq());
            }
        }
        return best;
    }

    /**
     * Loads a peer's snapshot when this member is new, its log cannot serve its replicas (it starts after frame 1
     * with no snapshot at or after its start), or it is {@code joinFromSnapshotAfter} frames or more behind the newest
     * snapshot offered. Returns where the history came from, for the status.
     */
    private Future<String> joinFromSnapshotIfBehind() {
        long position = log.lastSeq();
        boolean usable = log.firstSeq() <= 1 || localSnapshotSeq() >= log.firstSeq() - 1;
        List<String> others = peers.get();
        if (others.isEmpty()) {
            return usable ? Future.succeededFuture(describeLocal()) : Future.failedFuture(unusable());
        }
        return SnapshotService.newestOffer(vertx, app, others).compose(offer -> {
            if (offer.isPresent() && (!usable || offer.get().seq() >= position + options.joinFromSnapshotAfter())) {
                return install(offer.get());
            }
            if (!usable) {
                return Future.failedFuture(unusable());
            }
            return Future.succeededFuture(describeLocal());
        });
    }

    private String describeLocal() {
        return log.lastSeq() == 0 ? "the ring (new member)" : "its own log at frame " + log.lastSeq() + ", then the ring";
    }

    private IllegalStateException unusable() {
        return new IllegalStateException("app '" + app + "': this member's log starts at frame " + log.firstSeq()
                + " without a snapshot there, and no peer offers one. Fix: start the member when a peer that has run the "
                + "app is up, or remove this member's data directory of the app to join from scratch");
    }

    private Future<String> install(SnapshotService.Offer offer) {
        long t0 = System.nanoTime();
        return SnapshotService.fetch(vertx, app, offer).compose(fetched -> vertx.executeBlocking(() -> {
            for (SnapshotStore s : stores) {
                s.save(fetched.seq(), fetched.snapshot());
            }
            if (fetched.seq() > log.lastSeq()) {
                log.restartWith(fetched.frame(), fetched.frameBytes()).join();
            }
            return fetched;
        }, false)).map(fetched -> {
            cursor = null;
            batches.clear();
            note(batches, fetched.frame());
            String from = "snapshot at frame " + fetched.seq() + " (" + fetched.snapshot().length + " bytes) from member "
                    + offer.member() + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms, then the ring";
            say(app + ": history: " + from);
            return from;
        });
    }

    // ------------------------------------------------------------------------------------------ following

    private void onFrame(Buffer body) {
        byte[] bytes = body.getBytes();
        Frame f;
        try {
            f = FrameCodec.decode(bytes);
        } catch (CodecException e) {
            malformed++;
            return;
        }
        if (!f.app().equals(app)) {
            malformed++;
            return;
        }
        highestSeen = Math.max(highestSeen, f.seq());
        if (f.seq() <= log.lastSeq() || filling != null) {
            return;
        }
        if (f.seq() == log.lastSeq() + 1 && Arrays.equals(f.prevHash(), log.lastHash())) {
            append(f, bytes);
            cursor = null;
            followed++;
            return;
        }
        fill();
    }

    /**
     * Reads the ring from the log's last frame to the ring's end into the log; returns the cursor after the last
     * frame. One fill at a time: a second call shares the first.
     */
    public Future<RingCursor> fill() {
        if (filling != null) {
            return filling;
        }
        Promise<RingCursor> done = Promise.promise();
        filling = done.future();
        Future<RingCursor> start = cursor != null && cursor.lastFrameSeq() == log.lastSeq()
                ? Future.succeededFuture(cursor)
                : Future.fromCompletionStage(ring.locate(log.lastSeq(), log.lastHash()));
        start.compose(this::readToEnd).onComplete(ar -> {
            filling = null;
            if (ar.failed()) {
                Throwable t = ar.cause();
                if (t instanceof RingLogException r && r.reason() == RingLogException.Reason.OVERRUN) {
                    say(app + ": this member fell behind the frame ring (" + r.getMessage() + "); loading a peer's snapshot");
                    joinFromSnapshotIfBehind().onComplete(j -> {
                        if (j.succeeded()) {
                            fellBehind.run();
                            fill();
                        } else {
                            say(app + ": could not load a snapshot: " + j.cause().getMessage());
                        }
                    });
                }
                done.fail(t);
                return;
            }
            cursor = ar.result();
            done.complete(ar.result());
            if (highestSeen > log.lastSeq()) {
                fill();
            }
        });
        return done.future();
    }

    private Future<RingCursor> readToEnd(RingCursor from) {
        return Future.fromCompletionStage(ring.readMany(from, RingbufferFrameLog.MAX_READ_ENTRIES)).compose(read -> {
            for (Frame f : read.frames()) {
                if (f.seq() == log.lastSeq() + 1) {
                    append(f, FrameCodec.encode(f));
                    readFromRing++;
                }
            }
            if (read.next().nextRingSeq() == from.nextRingSeq()) {
                return Future.succeededFuture(read.next());
            }
            return readToEnd(read.next());
        });
    }

    private CompletableFuture<Void> append(Frame f, byte[] bytes) {
        CompletableFuture<Void> durable = log.append(f, bytes);
        note(batches, f);
        vertx.eventBus().publish(Addresses.memberFrames(app), Buffer.buffer(bytes), LOCAL_ONLY);
        return durable;
    }

    // ------------------------------------------------------------------------------------------ for the sequencer

    /**
     * Appends a frame this member's sequencer made (after the ring accepted it), and hands it to the replicas; the
     * future completes when it is durable in the log (fsync policy). Runs on this verticle's context.
     */
    public Future<Void> appendOwn(Frame f, byte[] bytes) {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            if (f.seq() <= log.lastSeq()) {
                // A fill read it from the ring first: it is in the log already.
                done.complete();
                return;
            }
            if (f.seq() != log.lastSeq() + 1) {
                done.fail(new IllegalStateException("frame " + f.seq() + " of '" + app + "' does not follow this member's log at "
                        + log.lastSeq()));
                return;
            }
            append(f, bytes).whenComplete((x, err) -> context.runOnContext(y -> {
                if (err != null) {
                    done.fail(err);
                } else {
                    done.complete();
                }
            }));
        });
        return done.future();
    }

    /** A copy of the batch table (gateway -> last batchSeq in the history the log holds), taken on this context. */
    public Future<Map<Integer, Long>> batchTable() {
        Promise<Map<Integer, Long>> p = Promise.promise();
        context.runOnContext(v -> p.complete(new HashMap<>(batches)));
        return p.future();
    }

    /** Runs {@link #fill} on this verticle's context (for a sequencer on another context). */
    public Future<RingCursor> syncToRingEnd() {
        Promise<RingCursor> p = Promise.promise();
        context.runOnContext(v -> fill().onComplete(p));
        return p.future();
    }

    public ReplayLog log() {
        return log;
    }

    private void say(String line) {
        if (out != null) {
            out.println(line);
            out.flush();
        }
    }
}
