package io.replicode.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import io.replicode.nat.Addresses;
import io.replicode.nat.CodecException;
import io.replicode.nat.IngressAck;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.OutputBatch;
import io.replicode.replay.Frame;
import io.replicode.sequencer.FrameSequencer;
import io.replicode.sequencer.WakeTimer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * The ordering context of one app in a cluster. It sequences only on the member that owns the partition of the
 * app's frame ring, once that partition's backups are in sync and the member sees at least the minimum cluster
 * size; it moves when ownership moves.
 *
 * <p>Taking over: the member's {@link MemberHistory} reads the ring to its end (the history includes every frame a
 * previous sequencer got into the ring, published or not), the ring writer is positioned there, and the new
 * sequencer continues in the next epoch, which fences out any older one. It then announces itself on
 * {@link Addresses#sequencer}: gateways resend the ingress batches not yet acknowledged, replicas repeat their timers,
 * and it cuts a {@code GatewayLost} frame for every gateway whose member left the cluster.
 *
 * <p>A frame is durable when the ring (owner and synchronous backups) and this member's log hold it; only then is
 * it published and are the gateways' batches in it acknowledged. Batches are taken in each gateway's order: a batch
 * seen before (its batchSeq is not above the gateway's last one in the history) is not sequenced again, and one that
 * arrives after a gap waits for the missing ones, which the gateway resends. Replicas also drop a repeated batch by
 * its mark, so even a batch the table missed is applied once.
 */
public final class ClusteredSequencer extends VerticleBase {
    private static final long RECHECK_MS = 100;
    /** Batches of one gateway held while an earlier one is missing. */
    private static final int MAX_HELD_PER_GATEWAY = 1024;

    private final String app;
    private final HazelcastInstance hazelcast;
    private final MemberHistory history;
    private final GatewayRegistry registry;
    private final FrameSequencer.Options options;
    private final int minimumClusterSize;
    private final LongSupplier clockNs;
    private final PrintWriter out;

    private PartitionOwner owner;
    private UUID membershipRegistration;
    private long recheckTimer = -1;

    // state of the current term (null/empty while not sequencing)
    private boolean starting;
    private RingbufferFrameLog ring;
    private FrameSequencer sequencer;
    private long epoch;
    private final List<MessageConsumer<?>> consumers = new ArrayList<>();
    private final Map<Integer, Long> offered = new HashMap<>();
    private final Map<Integer, Long> durable = new HashMap<>();
    private final Map<Integer, TreeMap<Long, IngressBatch>> held = new HashMap<>();
    private final Set<Integer> lossCut = new HashSet<>();
    /** Durable frames waiting for their predecessors to be published (appends complete in order; this checks it). */
    private final TreeMap<Long, Durable> ready = new TreeMap<>();

    private record Durable(Frame frame, byte[] encoded) {}
    private long nextToPublish;
    private WakeTimer wake;
    private int term;
    private boolean stopped;

    // what an operator sees
    private String state = "following";
    private String why = "";
    private long terms;
    private long published;
    private long duplicates;
    private long heldBatches;
    private long refusedBatches;
    private long malformed;
    private long lastTakeoverMs = -1;

    public ClusteredSequencer(String app, HazelcastInstance hazelcast, MemberHistory history, GatewayRegistry registry,
                              FrameSequencer.Options options, int minimumClusterSize, LongSupplier clockNs, PrintWriter out) {
        this.app = app;
        this.hazelcast = hazelcast;
        this.history = history;
        this.registry = registry;
        this.options = options;
        this.minimumClusterSize = minimumClusterSize;
        this.clockNs = clockNs;
        this.out = out;
    }

    @Override
    public Future<?> start() {
        wake = new WakeTimer(vertx, clockNs, this::pump);
        owner = PartitionOwner.ofApp(hazelcast, app);
        owner.onChange(local -> context.runOnContext(v -> reconsider()));
        membershipRegistration = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
                context.runOnContext(v -> reconsider());
            }

            @Override
            public void memberRemoved(MembershipEvent event) {
                context.runOnContext(v -> {
                    reconsider();
                    cutLostGateways();
                });
            }
        });
        recheckTimer = vertx.setPeriodic(RECHECK_MS, id -> reconsider());
        return Future.succeededFuture();
    }

    @Override
    public Future<?> stop() {
        stopped = true;
        vertx.cancelTimer(recheckTimer);
        stepDown("stopping", "this member is stopping");
        owner.close();
        try {
            hazelcast.getCluster().removeMembershipListener(membershipRegistration);
        } catch (RuntimeException e) {
            // Hazelcast is already down.
        }
        return Future.succeededFuture();
    }

    /** Whether this member should be sequencing, and starts or stops accordingly. */
    private void reconsider() {
        if (stopped) {
            // A membership or ownership event queued before stop() must not start a new term.
            return;
        }
        boolean active = sequencer != null || starting;
        if (!owner.isLocal()) {
            if (active) {
                stepDown("following", "the ring's partition moved to another member");
            }
            return;
        }
        if (active) {
            return;
        }
        int size = hazelcast.getLifecycleService().isRunning() ? hazelcast.getCluster().getMembers().size() : 0;
        if (size < minimumClusterSize) {
            state = "minority";
            why = "this member sees " + size + " member(s), below the minimum cluster size of " + minimumClusterSize
                    + ": it does not sequence until it sees a majority";
            return;
        }
        if (!owner.backupsInSync()) {
            state = "waiting";
            why = "the ring's backups are being migrated";
            return;
        }
        takeOver();
    }

    private void takeOver() {
        starting = true;
        int myTerm = ++term;
        long t0 = System.nanoTime();
        state = "starting";
        Executor onContext = r -> context.runOnContext(v -> r.run());
        RingbufferFrameLog writer = new RingbufferFrameLog(hazelcast, app, RingbufferFrameLog.Options.DEFAULT, onContext);
        history.syncToRingEnd()
                .compose(c -> Future.fromCompletionStage(writer.recover(c)))
                .compose(c -> c.lastFrameSeq() > history.log().lastSeq()
                        ? history.syncToRingEnd().compose(c2 -> Future.fromCompletionStage(writer.recover(c2)))
                        : Future.succeededFuture(c))
                .compose(c -> history.batchTable().map(table -> new Object[] {c, table}))
                // The history completes on its own context: continue on this one, which alone drives the sequencer.
                .onComplete(ar -> context.runOnContext(v -> {
                    if (myTerm != term) {
                        return;
                    }
                    starting = false;
                    if (ar.failed()) {
                        String reason = "taking over failed: " + ar.cause().getMessage();
                        if (!reason.equals(why)) {
                            // Retried every RECHECK_MS: said once per distinct reason.
                            say(app + ": sequencer: " + reason);
                        }
                        state = "waiting";
                        why = reason;
                        return;
                    }
                    if (!owner.isLocal()) {
                        state = "following";
                        return;
                    }
                    RingCursor c = (RingCursor) ar.result()[0];
                    @SuppressWarnings("unchecked")
                    Map<Integer, Long> table = (Map<Integer, Long>) ar.result()[1];
                    if (c.lastFrameSeq() != history.log().lastSeq()) {
                        state = "waiting";
                        why = "the ring moved on while taking over";
                        return;
                    }
                    begin(writer, c, table, t0);
                }));
    }

    private void begin(RingbufferFrameLog writer, RingCursor c, Map<Integer, Long> table, long t0) {
        long lastSeq = c.lastFrameSeq();
        long lastTime = lastSeq == 0 ? 0 : history.log().read(lastSeq, 1).get(0).timeNs();
        ring = writer;
        epoch = c.lastEpoch() + 1;
        sequencer = new FrameSequencer(app, epoch, options, lastSeq, c.lastFrameHash(), lastTime);
        offered.clear();
        offered.putAll(table);
        durable.clear();
        durable.putAll(table);
        held.clear();
        lossCut.clear();
        ready.clear();
        nextToPublish = lastSeq + 1;
        consumers.add(vertx.eventBus().<Buffer>consumer(Addresses.ingress(app), m -> onIngress(m.body())));
        consumers.add(vertx.eventBus().<Buffer>consumer(Addresses.control(app), m -> onControl(m.body())));
        terms++;
        state = "sequencing";
        why = "";
        lastTakeoverMs = (System.nanoTime() - t0) / 1_000_000;
        if (lastSeq == 0) {
            // Genesis: an empty frame starts the guest, so it listens before the first client arrives.
            sequencer.requestTimer(clockNs.getAsLong());
        }
        say(app + ": sequencing from frame " + (lastSeq + 1) + " in epoch " + epoch + " (took over in " + lastTakeoverMs + " ms)");
        Future.all(consumers.stream().map(MessageConsumer::completion).toList()).onComplete(ar -> context.runOnContext(v -> {
            if (sequencer == null) {
                return;
            }
            vertx.eventBus().publish(Addresses.sequencer(app), new JsonObject().put("app", app).put("state", "sequencing")
                    .put("epoch", epoch).put("member", hazelcast.getCluster().getLocalMember().getUuid().toString())
                    .put("lastSeq", lastSeq));
            cutLostGateways();
            pump();
        }));
    }

    private void stepDown(String newState, String reason) {
        term++;
        starting = false;
        boolean was = sequencer != null;
        for (MessageConsumer<?> c : consumers) {
            c.unregister();
        }
        consumers.clear();
        sequencer = null;
        ring = null;
        ready.clear();
        held.clear();
        wake.cancel();
        state = newState;
        why = reason;
        if (was) {
            say(app + ": sequencer stepped down: " + reason);
            vertx.eventBus().publish(Addresses.sequencer(app), new JsonObject().put("app", app).put("state", newState)
                    .put("reason", reason));
        }
    }

    // ------------------------------------------------------------------------------------------ input

    private void onIngress(Buffer body) {
        if (sequencer == null) {
            return;
        }
        IngressBatch batch;
        try {
            batch = IngressBatch.decode(body.getBytes());
        } catch (CodecException e) {
            malformed++;
            return;
        }
        int g = batch.gateway();
        if (g < 1 || g > io.replicode.nat.ConnectionIds.MAX_GATEWAY || lossCut.contains(g)) {
            malformed++;
            return;
        }
        Long last = offered.get(g);
        if (last != null && batch.batchSeq() <= last) {
            duplicates++;
            Long d = durable.get(g);
            if (d != null && d >= batch.batchSeq()) {
                ack(g, d);
            }
            return;
        }
        if (last != null && batch.batchSeq() > last + 1) {
            TreeMap<Long, IngressBatch> h = held.computeIfAbsent(g, k -> new TreeMap<>());
            if (h.size() < MAX_HELD_PER_GATEWAY) {
                h.put(batch.batchSeq(), batch);
                heldBatches++;
            } else {
                refusedBatches++;
            }
            return;
        }
        if (!take(batch)) {
            return;
        }
        TreeMap<Long, IngressBatch> h = held.get(g);
        while (h != null && !h.isEmpty() && h.firstKey() <= offered.get(g) + 1) {
            IngressBatch next = h.pollFirstEntry().getValue();
            if (next.batchSeq() == offered.get(g) + 1 && !take(next)) {
                break;
            }
        }
        pump();
    }

    private boolean take(IngressBatch batch) {
        if (!sequencer.offerBatch(batch, clockNs.getAsLong())) {
            // Full: the gateway resends it when no ack comes.
            refusedBatches++;
            return false;
        }
        offered.put(batch.gateway(), batch.batchSeq());
        return true;
    }

    private void onControl(Buffer body) {
        if (sequencer == null) {
            return;
        }
        OutputBatch batch;
        try {
            batch = OutputBatch.decode(body.getBytes());
        } catch (CodecException e) {
            malformed++;
            return;
        }
        sequencer.requestTimers(batch.outputs());
        pump();
    }

    /**
     * Cuts a GatewayLost frame for each gateway in this app's history whose member is no longer in the cluster (or
     * that no member registered: a gateway of the cluster before a full restart). A gateway with connections in the
     * app sent at least their Open, so it is in the batch table; its loss takes it out again, so it is cut once.
     */
    private void cutLostGateways() {
        if (sequencer == null) {
            return;
        }
        Set<String> live = new HashSet<>();
        for (Member m : hazelcast.getCluster().getMembers()) {
            live.add(m.getUuid().toString());
        }
        List<Integer> known = new ArrayList<>(offered.keySet());
        known.removeAll(lossCut);
        if (known.isEmpty()) {
            return;
        }
        int myTerm = term;
        vertx.executeBlocking(() -> registry.lostAmong(known, live), false).onSuccess(lost -> {
            if (myTerm != term || sequencer == null) {
                return;
            }
            for (int g : lost) {
                if (lossCut.add(g)) {
                    sequencer.offerOwn(new IngressEvent.GatewayLost(g), clockNs.getAsLong());
                    held.remove(g);
                    say(app + ": gateway " + g + " left the cluster: its connections are reset");
                }
            }
            pump();
        });
    }

    // ------------------------------------------------------------------------------------------ output

    private void pump() {
        if (io.vertx.core.Vertx.currentContext() != context) {
            // Only this verticle's context may drive the (single-threaded) FrameSequencer.
            context.runOnContext(v -> pump());
            return;
        }
        if (sequencer == null) {
            return;
        }
        long now = clockNs.getAsLong();
        Frame f;
        int myTerm = term;
        while ((f = sequencer.next(now, wake.entropy())) != null) {
            Frame frame = f;
            byte[] encoded = sequencer.lastEncoded();
            ring.append(frame, encoded).whenComplete((pos, err) -> {
                if (myTerm != term) {
                    return;
                }
                if (err != null) {
                    failed(err);
                    return;
                }
                // appendOwn completes on the history's context: come back to this one (the FrameSequencer is
                // single-threaded; driving it from two event loops lost frames under load).
                history.appendOwn(frame, encoded).onComplete(ar -> context.runOnContext(v -> {
                    if (myTerm != term) {
                        return;
                    }
                    if (ar.failed()) {
                        failed(ar.cause());
                        return;
                    }
                    ready.put(frame.seq(), new Durable(frame, encoded));
                    publishReady();
                }));
            });
        }
        wake.wakeAt(sequencer.wakeAtNs());
    }

    /** Publishes durable frames in seq order, acknowledges their batches, and lets the next frames be cut. */
    private void publishReady() {
        while (!ready.isEmpty() && ready.firstKey() == nextToPublish) {
            Durable d = ready.pollFirstEntry().getValue();
            Frame f = d.frame();
            vertx.eventBus().publish(Addresses.frames(app), Buffer.buffer(d.encoded()));
            published++;
            nextToPublish++;
            sequencer.durable(f.seq());
            Map<Integer, Long> acked = new LinkedHashMap<>();
            for (IngressEvent e : f.events()) {
                if (e instanceof IngressEvent.Batch m && m.gateway() > 0) {
                    acked.merge(m.gateway(), m.batchSeq(), Math::max);
                } else if (e instanceof IngressEvent.GatewayLost lost && lost.gateway() > 0) {
                    offered.remove(lost.gateway());
                    durable.remove(lost.gateway());
                }
            }
            for (Map.Entry<Integer, Long> a : acked.entrySet()) {
                durable.merge(a.getKey(), a.getValue(), Math::max);
                ack(a.getKey(), a.getValue());
            }
        }
        pump();
    }

    private void ack(int gateway, long batchSeq) {
        vertx.eventBus().send(Addresses.acks(gateway), Buffer.buffer(new IngressAck(app, batchSeq).encode()));
    }

    private void failed(Throwable err) {
        if (err instanceof java.util.concurrent.CompletionException && err.getCause() != null) {
            err = err.getCause();
        }
        if (err instanceof RingLogException r) {
            switch (r.reason()) {
                case MINORITY -> stepDown("minority", r.getMessage());
                case FENCED -> stepDown("following", "another sequencer continued the history: " + r.getMessage());
                case RING_RESTARTED -> stepDown("stopped", r.getMessage());
                default -> stepDown("waiting", r.getMessage());
            }
        } else {
            stepDown("waiting", "a frame could not be made durable: " + err.getMessage());
        }
    }

    /** What an operator sees (call on any thread; values may be a moment old). */
    public JsonObject status() {
        FrameSequencer s = sequencer;
        return new JsonObject().put("state", state).put("reason", why).put("epoch", epoch).put("terms", terms)
                .put("lastSeq", s == null ? null : s.lastSeq()).put("pendingEvents", s == null ? 0 : s.pendingEvents())
                .put("publishedFrames", published).put("duplicateBatches", duplicates).put("heldBatches", heldBatches)
                .put("refusedBatches", refusedBatches).put("malformedMessages", malformed)
                .put("lastTakeoverMs", lastTakeoverMs);
    }

    /** Whether this member sequences the app now. */
    public boolean sequencing() {
        return "sequencing".equals(state);
    }

    private void say(String line) {
        if (out != null) {
            out.println(line);
            out.flush();
        }
    }
}
