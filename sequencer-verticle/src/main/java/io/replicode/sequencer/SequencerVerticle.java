package io.replicode.sequencer;

import io.replicode.nat.Addresses;
import io.replicode.nat.CodecException;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.ReplayLog;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.function.LongSupplier;

/**
 * The ordering context of one app: ingress batches from gateways become frames ({@link FrameSequencer}),
 * each batch behind a mark naming its gateway and batchSeq (so replicas drop resent copies), each frame is
 * made durable in the app's {@link ReplayLog}, and only then published to the replicas. Tick frames answer
 * the guest's timer requests.
 *
 * <p>Runs on one event loop; the log's fsync happens on the log's own thread, and frames are published in
 * seq order as their appends complete.
 */
public final class SequencerVerticle extends VerticleBase {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SequencerVerticle.class);

    private final String app;
    private final ReplayLog log;
    private final FrameSequencer.Options options;
    private final LongSupplier clockNs;
    /** What a snapshot of the app costs in bytes (0: unknown), for {@link FrameSequencer#snapshotBytes}. */
    private LongSupplier snapshotBytes = () -> 0;
    private final io.replicode.nat.BatchTable taken = new io.replicode.nat.BatchTable();
    private FrameSequencer sequencer;
    private WakeTimer wake;
    private long malformed;
    private long duplicates;
    private long published;
    /** A single node's sequencer has one epoch: a restart resets every connection with a GatewayLost instead. */
    private static final long EPOCH = 1;
    private Companion companion = Companion.NONE;
    private final java.util.ArrayDeque<IngressEvent> held = new java.util.ArrayDeque<>();
    private long heldRetry = -1;
    private boolean stopping;

    /** A sequencer for {@code app} over its (already opened and recovered) log; {@code clockNs} is wall time in ns. */
    public SequencerVerticle(String app, ReplayLog log, FrameSequencer.Options options, LongSupplier clockNs) {
        this.app = app;
        this.log = log;
        this.options = options;
        this.clockNs = clockNs;
    }

    /** Counts the frames it makes durable into {@code meters}. */
    public SequencerVerticle withMeters(SequencerMeters meters) {
        this.meters = meters;
        return this;
    }

    private SequencerMeters meters = SequencerMeters.NONE;

    /** Runs {@code c} beside this sequencer while it sequences (the upstream connector). */
    public SequencerVerticle withCompanion(Companion c) {
        this.companion = c;
        return this;
    }

    /**
     * Hands each frame, once durable and in seq order, to {@code replicas} on this sequencer's event loop (the node's
     * replicas, fed without the event bus: see {@code LocalFrames}); it is published on the event bus as well.
     */
    public SequencerVerticle withLocalReplicas(java.util.function.Consumer<Frame> replicas) {
        this.localReplicas = replicas;
        return this;
    }

    private java.util.function.Consumer<Frame> localReplicas = f -> { };

    /** Where the sequencer learns what a snapshot of the app costs in bytes (see {@link FrameSequencer#snapshotBytes}). */
    public SequencerVerticle withSnapshotBytes(LongSupplier bytes) {
        this.snapshotBytes = bytes;
        return this;
    }

    /** Wall-clock time in nanoseconds since the epoch. */
    public static long wallClockNs() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Override
    public Future<?> start() {
        long lastTime = 0;
        if (log.lastSeq() >= log.firstSeq()) {
            lastTime = log.read(log.lastSeq(), 1).get(0).timeNs();
        }
        sequencer = new FrameSequencer(app, EPOCH, options, log.lastSeq(), log.lastHash(), lastTime);
        wake = new WakeTimer(vertx, clockNs, this::pump);
        MessageConsumer<Buffer> ingress = vertx.eventBus().consumer(Addresses.ingress(app), m -> onIngress(m.body()));
        MessageConsumer<Buffer> control = vertx.eventBus().consumer(Addresses.control(app), m -> onControl(m.body()));
        return Future.all(ingress.completion(), control.completion());
    }

    /**
     * Cuts the first frame of this run, once everything that receives outputs (the gateways) is up: after
     * a restart a frame resetting every connection of the previous run; at genesis an empty frame that
     * starts the guest, so it is listening (or its failure is visible) before the first client arrives.
     */
    public void begin() {
        context.runOnContext(v -> {
            long now = clockNs.getAsLong();
            if (log.lastSeq() > 0) {
                sequencer.offerOwn(new IngressEvent.GatewayLost(IngressEvent.GatewayLost.ALL), now);
            } else {
                sequencer.requestTimer(now);
            }
            companion.start(EPOCH, log.lastSeq() + 1, this::offerOwn);
            pump();
        });
    }

    @Override
    public Future<?> stop() {
        stopping = true;
        companion.stop();
        return Future.succeededFuture();
    }

    private void onIngress(Buffer body) {
        IngressBatch batch;
        try {
            batch = IngressBatch.decode(body.getBytes());
        } catch (CodecException e) {
            malformed++;
            return;
        }
        if (batch.gateway() < 1 || batch.gateway() > ConnectionIds.MAX_GATEWAY) {
            // Gateway 0 marks the sequencer's own events, which replicas never drop: no gateway may use it.
            malformed++;
            return;
        }
        // Replicas drop duplicates deterministically from the batch marks; this only saves them the work.
        if (taken.taken(batch.gateway(), batch.batchSeq())) {
            duplicates++;
            return;
        }
        if (!sequencer.offerBatch(batch, clockNs.getAsLong())) {
            // The gateways' windows bound what can arrive; reaching this limit means a gateway ignores them.
            malformed++;
            return;
        }
        taken.note(batch.gateway(), batch.batchSeq());
        pump();
    }

    /** An event of the companion's: into the next frame (held and retried while the sequencer is full). */
    private void offerOwn(IngressEvent event) {
        context.runOnContext(v -> {
            if (stopping) {
                return;
            }
            held.addLast(event);
            offerHeld();
            pump();
        });
    }

    private void offerHeld() {
        while (!held.isEmpty() && sequencer.offerOwn(held.peekFirst(), clockNs.getAsLong())) {
            held.pollFirst();
        }
        if (!held.isEmpty() && heldRetry < 0) {
            heldRetry = vertx.setTimer(10, t -> {
                heldRetry = -1;
                offerHeld();
                pump();
            });
        }
    }

    private void onControl(Buffer body) {
        if (!sequencer.requestTimers(body.getBytes())) {
            malformed++;
            return;
        }
        pump();
    }

    /** Cuts every frame that is due, appends it, and publishes it once durable. */
    private void pump() {
        if (stopping) {
            return;
        }
        long now = clockNs.getAsLong();
        sequencer.snapshotBytes(snapshotBytes.getAsLong());
        Frame f;
        while ((f = sequencer.next(now, wake.entropy())) != null) {
            Frame frame = f;
            byte[] encoded = sequencer.lastEncoded();
            log.append(frame, encoded).whenComplete((v, err) -> context.runOnContext(x -> {
                if (err != null) {
                    // A frame that is not durable must not be applied anywhere: stop sequencing this app.
                    LOG.error(app + ": " + err.getMessage() + "; the app is no longer sequenced here");
                    stopping = true;
                    return;
                }
                meters.durable(frame, encoded.length);
                localReplicas.accept(frame);
                vertx.eventBus().publish(Addresses.frames(app), Buffer.buffer(encoded));
                published++;
                sequencer.durable(frame.seq());
                pump();
            }));
        }
        wake.wakeAt(sequencer.wakeAtNs());
    }

    /** What an operator sees of this sequencer. */
    public JsonObject status() {
        return new JsonObject()
                .put("lastSeq", sequencer == null ? log.lastSeq() : sequencer.lastSeq())
                .put("durableSeq", log.lastSeq())
                .put("pendingEvents", sequencer == null ? 0 : sequencer.pendingEvents())
                .put("publishedFrames", published)
                .put("logBytes", log.sizeBytes())
                .put("malformedMessages", malformed)
                .put("duplicateBatches", duplicates)
                .put("upstreams", companion.status());
    }
}
