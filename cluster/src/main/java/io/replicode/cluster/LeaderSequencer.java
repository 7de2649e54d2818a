package io.replicode.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import io.replicode.nat.Addresses;
import io.replicode.nat.BatchTable;
import io.replicode.nat.CodecException;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressAck;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.ratis.protocol.RaftPeer;

/**
 * The ordering context of one app in a cluster: it runs on the member whose Raft server leads the app's group,
 * from the moment that leader is ready (it has applied every entry before its term) until it loses leadership.
 *
 * <p>It cuts frames with the same {@link FrameSequencer} the single node uses, seeded from the last frame of the
 * history (seq, hash, time, so time never decreases across leaders), in epoch = the Raft term. The durability step
 * is a Raft commit: each frame is submitted to this member's own Raft server and is committed once a majority
 * of members has it on disk; only then is it published on {@link Addresses#frames} and are the gateways' batches in it
 * acknowledged. The state machine fences frames of an older term ({@link AppStateMachine}); a frame that did not take
 * (lost leadership, a timeout, a stale or duplicate reply) stops this run, and the sequencer starts again from the
 * history when it still leads.
 *
 * <p>Batches are taken in each gateway's order from the table "last batchSeq per gateway" the history's marks give:
 * one seen before is acknowledged again, not sequenced; one after a gap waits for the missing ones, which the gateway
 * resends. Replicas also drop a repeated batch by its mark, so even a batch the table missed is applied once.
 */
public final class LeaderSequencer extends VerticleBase {
    /** Batches of one gateway held while an earlier one is missing. */
    private static final int MAX_HELD_PER_GATEWAY = 1024;
    /**
     * How long later batches of a gateway wait for a missing one before the leader gives up on it. A gateway resends
     * what is not acknowledged every 2 s, so a batch that was only late arrives well within this; one that never comes
     * was dropped by its gateway (a gateway merged back after a partition drops its unacknowledged batches and resets
     * its clients), and without this the gateway's later batches would wait forever (seen: a member cut off 20 s that
     * never served again).
     */
    static final long GAP_GIVE_UP_MS = 5_000;
    private static final long RESUME_CHECK_MS = 100;
    /**
     * Frames sent to Raft and not yet committed. Each Raft entry has a fixed cost, so while these are in flight the next
     * events wait and are cut together into one larger frame: group commit. Measured with wrk PUTs (-t2 -c50, 3 members,
     * one run each after a 5 s warm-up): 2 in flight 394 writes/s, 4: 340, 8: 629, 16: 518, 32: 582. With no cap the
     * sequencer cut a frame every batch interval and the leader fell behind.
     */
    static final int MAX_FRAMES_IN_FLIGHT = Integer.getInteger("replicode.raft.framesInFlight", 8);

    private final String app;
    private final HazelcastInstance hazelcast;
    private final java.util.function.Supplier<Set<String>> liveNodes;
    private final RaftMember raft;
    private final AppStateMachine machine;
    private final GatewayRegistry registry;
    private final FrameSequencer.Options options;
    private final LongSupplier clockNs;
    private final PrintWriter out;

    private UUID membershipRegistration;
    private WakeTimer wake;

    // the current run (null/empty while not sequencing)
    private FrameSequencer sequencer;
    private long epoch;
    private int run;
    private int inFlight;
    private long readyTerm = -1;
    private final List<MessageConsumer<?>> consumers = new ArrayList<>();
    /** Batches taken into frames, and batches in committed frames (acknowledged), per gateway. */
    private final BatchTable offered = new BatchTable();
    private final BatchTable durable = new BatchTable();
    private final Map<Integer, TreeMap<Long, IngressBatch>> held = new HashMap<>();
    /** Since when (System.nanoTime) each gateway with held batches has been missing one. */
    private final Map<Integer, Long> gapSinceNs = new HashMap<>();
    private final Set<Integer> lossCut = new HashSet<>();
    /** Gateways whose loss committed while this sequencer ran: their next batch, whatever its number, is their first. */
    private final Set<Integer> startedOver = new HashSet<>();
    private final TreeMap<Long, Committed> committed = new TreeMap<>();
    private long nextToPublish;
    private boolean stopped;

    private record Committed(Frame frame, byte[] encoded) {}

    /** What this member's sequencer of the app is doing; its label is the status's {@code state}. */
    enum Role {
        /** Another member leads the app's Raft group (or none does yet). */
        FOLLOWING,
        /** This member leads and cuts the app's frames. */
        SEQUENCING,
        /** A frame did not take; this member waits to learn whether it still leads. */
        WAITING,
        /** The member is shutting down. */
        STOPPING;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    // what an operator sees
    private volatile Role role = Role.FOLLOWING;
    /** Runs beside the sequencer while this member leads (the upstream connector), started with the term. */
    private io.replicode.sequencer.Companion companion = io.replicode.sequencer.Companion.NONE;
    /** The companion's events the sequencer could not take yet (it was full), in order. */
    private final java.util.ArrayDeque<IngressEvent> companionEvents = new java.util.ArrayDeque<>();
    private long companionRetry = -1;
    private String why = "";
    private volatile String leader = "";
    private long runs;
    private long published;
    private long duplicates;
    private long heldBatches;
    private long refusedBatches;
    private long malformed;
    private long notTaken;
    private long lastStartMs = -1;
    private long commits;
    private long commitNanos;
    private long maxCommitNanos;

    /** Counts the frames it commits into {@code meters}. */
    public LeaderSequencer withMeters(io.replicode.sequencer.SequencerMeters meters) {
        this.meters = meters;
        return this;
    }

    private io.replicode.sequencer.SequencerMeters meters = io.replicode.sequencer.SequencerMeters.NONE;

    public LeaderSequencer(String app, HazelcastInstance hazelcast, java.util.function.Supplier<Set<String>> liveNodes,
                           RaftMember raft, AppStateMachine machine, GatewayRegistry registry, FrameSequencer.Options options,
                           LongSupplier clockNs, PrintWriter out) {
        this.app = app;
        this.liveNodes = liveNodes;
        this.hazelcast = hazelcast;
        this.raft = raft;
        this.machine = machine;
        this.registry = registry;
        this.options = options;
        this.clockNs = clockNs;
        this.out = out;
    }

    @Override
    public Future<?> start() {
        wake = new WakeTimer(vertx, clockNs, this::pump);
        membershipRegistration = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
                context.runOnContext(v -> cutLostGateways());
            }

            @Override
            public void memberRemoved(MembershipEvent event) {
                context.runOnContext(v -> cutLostGateways());
            }
        });
        vertx.setPeriodic(RESUME_CHECK_MS, id -> resumeIfLeading());
        return Future.succeededFuture();
    }

    @Override
    public Future<?> stop() {
        stopped = true;
        stepDown(Role.STOPPING, "this member is stopping");
        try {
            hazelcast.getCluster().removeMembershipListener(membershipRegistration);
        } catch (RuntimeException e) {
            // Hazelcast is already down.
        }
        return Future.succeededFuture();
    }

    // ------------------------------------------------------------------------------------------ Raft events

    /** The state machine says this member leads in {@code term} and has applied everything before it (any thread). */
    public void leaderReady(long term) {
        context.runOnContext(v -> {
            readyTerm = term;
            if (sequencer == null && !stopped) {
                begin(term);
            }
        });
    }

    /** The group's leader changed (any thread). */
    public void leaderChanged(String newLeader, long term) {
        leader = newLeader == null ? "" : newLeader;
        context.runOnContext(v -> {
            if (!raft.id().toString().equals(newLeader)) {
                readyTerm = -1;
                if (sequencer != null) {
                    stepDown(Role.FOLLOWING, "the leader is now " + (newLeader == null ? "unknown" : newLeader) + " (term " + term + ")");
                } else {
                    role = Role.FOLLOWING;
                    why = "the leader is " + (newLeader == null ? "unknown" : newLeader);
                }
            }
        });
    }

    /** After a run stopped while this member still leads: start again once its frames are settled. */
    private void resumeIfLeading() {
        if (stopped || sequencer != null || inFlight > 0) {
            return;
        }
        try {
            var division = raft.division(app);
            if (readyTerm < 0 && division.getInfo().isLeader() && division.getInfo().isLeaderReady()) {
                // The ready event came before this verticle was deployed (or was missed).
                readyTerm = division.getInfo().getCurrentTerm();
            }
            if (readyTerm < 0) {
                return;
            }
            if (division.getInfo().isLeader() && division.getInfo().isLeaderReady()
                    && division.getInfo().getCurrentTerm() == readyTerm
                    && division.getInfo().getLastAppliedIndex() >= division.getRaftLog().getLastCommittedIndex()) {
                begin(readyTerm);
            }
        } catch (java.io.IOException e) {
            readyTerm = -1;
        }
    }

    private void begin(long term) {
        long t0 = System.nanoTime();
        long lastSeq = machine.log().lastSeq();
        epoch = term;
        run++;
        sequencer = new FrameSequencer(app, epoch, options, lastSeq, machine.log().lastHash(), machine.lastTimeNs());
        BatchTable table = machine.batchTable();
        offered.replaceWith(table);
        durable.replaceWith(table);
        held.clear();
        gapSinceNs.clear();
        startedOver.clear();
        lossCut.clear();
        committed.clear();
        nextToPublish = lastSeq + 1;
        // This member's own addresses (never a shared one): see Addresses.ingress(app, member).
        String me = raft.id().toString();
        consumers.add(vertx.eventBus().<Buffer>consumer(Addresses.ingress(app, me), m -> onIngress(m.body())));
        consumers.add(vertx.eventBus().<Buffer>consumer(Addresses.control(app, me), m -> onControl(m.body())));
        consumers.add(vertx.eventBus().<JsonObject>consumer(joinAddress(app, me), this::onJoin));
        consumers.add(vertx.eventBus().<JsonObject>consumer(removeAddress(app, me), this::onRemove));
        runs++;
        role = Role.SEQUENCING;
        why = "";
        lastStartMs = (System.nanoTime() - t0) / 1_000_000;
        if (lastSeq == 0) {
            // Genesis: an empty frame starts the guest, so it listens before the first client arrives.
            sequencer.requestTimer(clockNs.getAsLong());
        }
        say(app + ": sequencing from frame " + (lastSeq + 1) + " as Raft leader in term " + term);
        int myRun = run;
        Future.all(consumers.stream().map(MessageConsumer::completion).toList()).onComplete(ar -> context.runOnContext(v -> {
            if (sequencer == null || myRun != run) {
                return;
            }
            vertx.eventBus().publish(Addresses.sequencer(app), new JsonObject().put("app", app).put("state", Role.SEQUENCING.label())
                    .put("epoch", epoch).put("member", raft.id().toString()).put("lastSeq", lastSeq));
            cutLostGateways();
            companion.start(term, lastSeq + 1, this::offerCompanionEvent);
            pump();
        }));
    }

    /** Runs {@code c} beside the sequencer whenever this member sequences the app. */
    public LeaderSequencer withCompanion(io.replicode.sequencer.Companion c) {
        this.companion = c;
        return this;
    }

    /** An event of the companion's: into the next frame while this run sequences; dropped once it stepped down. */
    private void offerCompanionEvent(IngressEvent event) {
        int myRun = run;
        context.runOnContext(v -> {
            if (sequencer == null || myRun != run) {
                return;
            }
            companionEvents.addLast(event);
            offerCompanionEvents();
            pump();
        });
    }

    private void offerCompanionEvents() {
        while (sequencer != null && !companionEvents.isEmpty()
                && sequencer.offerOwn(companionEvents.peekFirst(), clockNs.getAsLong())) {
            companionEvents.pollFirst();
        }
        if (sequencer != null && !companionEvents.isEmpty() && companionRetry < 0) {
            companionRetry = vertx.setTimer(10, t -> {
                companionRetry = -1;
                offerCompanionEvents();
                pump();
            });
        }
    }

    private void stepDown(Role next, String reason) {
        run++;
        boolean was = sequencer != null;
        for (MessageConsumer<?> c : consumers) {
            c.unregister();
        }
        consumers.clear();
        sequencer = null;
        committed.clear();
        held.clear();
        gapSinceNs.clear();
        startedOver.clear();
        if (wake != null) {
            wake.cancel();
        }
        role = next;
        why = reason;
        companionEvents.clear();
        if (was) {
            companion.stop();
            say(app + ": sequencer stopped: " + reason);
        }
    }

    /** Where a new member asks {@code leader}, the leader of {@code app}'s group, to add it (request/reply, JSON). */
    public static String joinAddress(String app, String leader) {
        return "replicode.raft." + app + ".join." + leader;
    }

    /** A member asks to be added to the group: it becomes a voter once Ratis has brought it up to date. */
    private void onJoin(io.vertx.core.eventbus.Message<JsonObject> m) {
        String peer = m.body() == null ? null : m.body().getString("peer");
        String address = m.body() == null ? null : m.body().getString("address");
        if (peer == null || address == null) {
            malformed++;
            m.fail(400, "a join request names its peer and Raft address");
            return;
        }
        List<RaftPeer> voters = voters(m);
        if (voters == null) {
            return;
        }
        if (voters.stream().anyMatch(p -> p.getId().toString().equals(peer))) {
            m.reply(new JsonObject().put("members", describe(voters)));
            return;
        }
        voters.add(RaftPeer.newBuilder().setId(peer).setAddress(address).build());
        say(app + ": adding member " + peer + " (" + address + ") to the Raft group");
        changeVoters(m, voters, new JsonObject(), "adding member " + peer);
    }

    /** Where an operator's command asks {@code leader}, the leader of {@code app}'s group, to remove a member. */
    public static String removeAddress(String app, String leader) {
        return "replicode.raft." + app + ".remove." + leader;
    }

    /** Removes a member (dead or leaving) from the group: the majority is then counted without it. */
    private void onRemove(io.vertx.core.eventbus.Message<JsonObject> m) {
        String peer = m.body() == null ? null : m.body().getString("peer");
        if (peer == null) {
            malformed++;
            m.fail(400, "a remove request names the peer");
            return;
        }
        List<RaftPeer> voters = voters(m);
        if (voters == null) {
            return;
        }
        if (!voters.removeIf(p -> p.getId().toString().equals(peer))) {
            m.reply(new JsonObject().put("removed", false).put("members", describe(voters)));
            return;
        }
        if (voters.isEmpty()) {
            m.fail(409, "'" + peer + "' is the last member of the group of '" + app + "'");
            return;
        }
        say(app + ": removing member " + peer + " from the Raft group");
        changeVoters(m, voters, new JsonObject().put("removed", true), "removing member " + peer);
    }

    /** The group's current voters (a copy), or null after failing {@code m} when the group is not here. */
    private List<RaftPeer> voters(io.vertx.core.eventbus.Message<JsonObject> m) {
        try {
            return new ArrayList<>(raft.division(app).getGroup().getPeers());
        } catch (java.io.IOException e) {
            m.fail(503, "the group of '" + app + "' is not on this member: " + e.getMessage());
            return null;
        }
    }

    /** Commits {@code voters} as the group's configuration, then answers {@code m} with {@code reply} + the members. */
    private void changeVoters(io.vertx.core.eventbus.Message<JsonObject> m, List<RaftPeer> voters, JsonObject reply,
                              String what) {
        raft.setVoters(app, voters).whenComplete((r, err) -> context.runOnContext(v -> {
            if (err != null || !r.isSuccess()) {
                String why = err != null ? err.getMessage() : String.valueOf(r.getException());
                say(app + ": " + what + " failed: " + why);
                m.fail(503, why);
                return;
            }
            m.reply(reply.put("members", describe(voters)));
        }));
    }

    private static String describe(List<RaftPeer> peers) {
        return String.join(",", peers.stream().map(p -> p.getId().toString()).toList());
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
        if (g < 1 || g > ConnectionIds.MAX_GATEWAY) {
            malformed++;
            return;
        }
        if (lossCut.contains(g)) {
            // Its loss is being cut; the gateway, back after a partition, starts over with a fresh batch table.
            refusedBatches++;
            return;
        }
        Long last = offered.last(g);
        if (offered.taken(g, batch.batchSeq())) {
            duplicates++;
            if (durable.taken(g, batch.batchSeq())) {
                ack(g, durable.last(g));
            }
            return;
        }
        // A gateway this leader has no batch of starts at batch 1: a later one first means the earlier ones are on
        // their way (sent before this sequencer listened, they are resent within 2 s). Taken at once, it made them
        // duplicates: after a whole cluster restarted, the clients that connected first were never answered.
        boolean early = last == null && batch.batchSeq() > 1 && !startedOver.contains(g);
        if (early || (last != null && batch.batchSeq() > last + 1)) {
            long nowNs = System.nanoTime();
            long sinceNs = gapSinceNs.computeIfAbsent(g, k -> nowNs);
            TreeMap<Long, IngressBatch> h = held.computeIfAbsent(g, k -> new TreeMap<>());
            if (h.size() < MAX_HELD_PER_GATEWAY) {
                if (h.put(batch.batchSeq(), batch) == null) {
                    heldBatches++;
                }
            } else {
                refusedBatches++;
            }
            if (nowNs - sinceNs <= TimeUnit.MILLISECONDS.toNanos(GAP_GIVE_UP_MS)) {
                return;
            }
            if (!early) {
                h.remove(batch.batchSeq());
                giveUpGap(g, last + 1, (nowNs - sinceNs) / 1_000_000);
                return;
            }
            // No batch 1 came: a gateway that goes on numbering after its loss was cut under another leader (its
            // table was cleared). Its lowest batch is its first.
            batch = h.pollFirstEntry().getValue();
        }
        if (!take(batch)) {
            return;
        }
        TreeMap<Long, IngressBatch> h = held.get(g);
        while (h != null && !h.isEmpty() && h.firstKey() <= offered.last(g) + 1) {
            IngressBatch next = h.pollFirstEntry().getValue();
            if (next.batchSeq() == offered.last(g) + 1 && !take(next)) {
                break;
            }
        }
        if (h == null || h.isEmpty()) {
            gapSinceNs.remove(g);
        }
        pump();
    }

    /**
     * Batch {@code missing} of gateway {@code g} never came: the gateway starts over, as after its loss. A
     * GatewayLost frame resets its connections on every replica and clears its batch table; until that frame commits
     * its batches are refused, then its next one is taken as its first.
     */
    private void giveUpGap(int g, long missing, long waitedMs) {
        refusedBatches++;
        if (cutGateway(g, "did not send batch " + missing + " (later ones waited " + waitedMs
                + " ms): its connections are reset and it starts over")) {
            pump();
        }
    }

    /**
     * Puts a GatewayLost of {@code g} in the next frame unless one is pending: every replica resets its connections
     * and the gateway's batch table is cleared when it commits; until then its batches are refused.
     */
    private boolean cutGateway(int g, String why) {
        if (!lossCut.add(g)) {
            return false;
        }
        sequencer.offerOwn(new IngressEvent.GatewayLost(g), clockNs.getAsLong());
        held.remove(g);
        gapSinceNs.remove(g);
        say(app + ": gateway " + g + " " + why);
        return true;
    }

    private boolean take(IngressBatch batch) {
        if (!sequencer.offerBatch(batch, clockNs.getAsLong())) {
            // Full: the gateway resends it when no ack comes.
            refusedBatches++;
            return false;
        }
        offered.note(batch.gateway(), batch.batchSeq());
        return true;
    }

    private void onControl(Buffer body) {
        if (sequencer == null) {
            return;
        }
        if (!sequencer.requestTimers(body.getBytes())) {
            malformed++;
            return;
        }
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
        Set<String> live = liveNodes.get();
        List<Integer> known = new ArrayList<>(offered.gateways());
        known.removeAll(lossCut);
        if (known.isEmpty()) {
            return;
        }
        int myRun = run;
        vertx.executeBlocking(() -> registry.lostAmong(known, live), false).onSuccess(lost -> {
            if (myRun != run || sequencer == null) {
                return;
            }
            for (int g : lost) {
                cutGateway(g, "left the cluster: its connections are reset (members seen: " + live.size() + ")");
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
        sequencer.snapshotBytes(machine.newestSnapshotBytes());
        Frame f;
        int myRun = run;
        while (inFlight < MAX_FRAMES_IN_FLIGHT && (f = sequencer.next(now, wake.entropy())) != null) {
            Frame frame = f;
            byte[] encoded = sequencer.lastEncoded();
            inFlight++;
            long sentNs = System.nanoTime();
            raft.submitLocal(app, encoded).whenComplete((reply, err) -> context.runOnContext(v -> {
                        inFlight--;
                        if (myRun != run) {
                            return;
                        }
                        String outcome = err != null ? "failed: " + err.getMessage()
                                : !reply.isSuccess() ? "refused: " + reply.getException()
                                : reply.getMessage().getContent().toStringUtf8();
                        if (!"applied".equals(outcome)) {
                            notTaken++;
                            stepDown(Role.WAITING, "frame " + frame.seq() + " did not take (" + outcome + ")");
                            return;
                        }
                        long took = System.nanoTime() - sentNs;
                        meters.committed(took);
                        meters.durable(frame, encoded.length);
                        commits++;
                        commitNanos += took;
                        maxCommitNanos = Math.max(maxCommitNanos, took);
                        committed.put(frame.seq(), new Committed(frame, encoded));
                        publishCommitted();
                    }));
        }
        wake.wakeAt(sequencer.wakeAtNs());
    }

    /** Publishes committed frames in seq order, acknowledges their batches, and lets the next frames be cut. */
    private void publishCommitted() {
        while (!committed.isEmpty() && committed.firstKey() == nextToPublish) {
            Committed c = committed.pollFirstEntry().getValue();
            Frame f = c.frame();
            vertx.eventBus().publish(Addresses.frames(app), Buffer.buffer(c.encoded()));
            published++;
            nextToPublish++;
            sequencer.durable(f.seq());
            BatchTable acked = new BatchTable();
            for (IngressEvent e : f.events()) {
                if (e instanceof IngressEvent.Batch m && m.gateway() > 0) {
                    acked.note(m.gateway(), m.batchSeq());
                } else if (e instanceof IngressEvent.GatewayLost lost && lost.gateway() > 0) {
                    offered.forget(lost.gateway());
                    durable.forget(lost.gateway());
                    lossCut.remove(lost.gateway());
                    startedOver.add(lost.gateway());
                }
            }
            for (Map.Entry<Integer, Long> a : acked.entries().entrySet()) {
                durable.note(a.getKey(), a.getValue());
                ack(a.getKey(), a.getValue());
            }
        }
        pump();
    }

    private void ack(int gateway, long batchSeq) {
        vertx.eventBus().send(Addresses.acks(gateway), Buffer.buffer(new IngressAck(app, batchSeq).encode()));
    }

    /** What an operator sees (call on any thread; values may be a moment old). */
    public JsonObject status() {
        FrameSequencer s = sequencer;
        return new JsonObject().put("state", role.label()).put("reason", why).put("leader", leader).put("epoch", epoch)
                .put("runs", runs).put("lastSeq", s == null ? null : s.lastSeq())
                .put("pendingEvents", s == null ? 0 : s.pendingEvents()).put("publishedFrames", published)
                .put("framesNotTaken", notTaken).put("duplicateBatches", duplicates).put("heldBatches", heldBatches)
                .put("refusedBatches", refusedBatches).put("malformedMessages", malformed)
                .put("lastStartMs", lastStartMs).put("commits", commits)
                .put("commitMeanMs", commits == 0 ? 0 : commitNanos / commits / 1e6).put("commitMaxMs", maxCommitNanos / 1e6)
                .put("upstreams", companion.status());
    }

    /** Whether this member sequences the app now. */
    public boolean sequencing() {
        return role == Role.SEQUENCING;
    }

    /** A sequencer event, with the time of day (members' events are read side by side). */
    private void say(String line) {
        if (out != null) {
            out.println(java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS) + " " + line);
            out.flush();
        }
    }
}
