package io.replicode.launcher;

import io.replicode.node.TestGuests;
import io.replicode.testing.Poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Addresses;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.verticle.ReplicaVerticle;
import io.replicode.sequencer.FrameSequencer;
import io.replicode.sequencer.SequencerVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline without a gateway: ingress batches → sequencer → durable log → three replicas → output
 * batches, with a stand-in gateway on the event bus. Replicas agree, and a restart continues from
 * snapshot plus log.
 */
class PipelineTest {
    private static final String APP = "echo";
    private static final int GATEWAY = 1;

    @TempDir
    Path data;

    /** One embedded node: a sequencer and three replicas of the echo app, plus the stand-in gateway's inbox. */
    private final class Node implements AutoCloseable {
        final Vertx vertx = Vertx.vertx();
        final ReplayLog log = ReplayLog.open(data.resolve("echo/log"), APP, ReplayLog.Options.DEFAULT);
        final List<ReplicaVerticle> replicas = new ArrayList<>();
        SequencerVerticle sequencer;
        final Map<Long, ByteArrayOutputStream> received = new ConcurrentHashMap<>();
        final Set<String> seen = ConcurrentHashMap.newKeySet();
        long batchSeq;
        /** Null: replicas take frames from the event bus and send digests there; else the node's in-process feed. */
        final io.replicode.replica.verticle.LocalFrames frames;
        /** In-process mode: the stand-in gateway takes its batches from here, as objects; null otherwise. */
        final io.replicode.nat.LocalGateways gateways;
        /** Output batches that reached the stand-in gateway by each way. */
        final java.util.concurrent.atomic.AtomicInteger batchesByBus = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger batchesInProcess = new java.util.concurrent.atomic.AtomicInteger();
        /** Digests reported to the sink (in-process mode): "replica@seq". */
        final Set<String> digestsSeen = ConcurrentHashMap.newKeySet();
        final GuestModule module;
        final GuestConfig config;

        Node() throws Exception {
            this(false);
        }

        Node(boolean inProcess) throws Exception {
            frames = inProcess ? new io.replicode.replica.verticle.LocalFrames() : null;
            gateways = inProcess ? new io.replicode.nat.LocalGateways() : null;
            module = GuestModule.load(TestGuests.module("echo_server"), Engine.COMPILER);
            config = GuestConfig.of(APP, List.of("main")).withGenesis(new byte[] {1}, 0);
            vertx.eventBus().<Buffer>consumer(Addresses.outputs(GATEWAY), m -> {
                batchesByBus.incrementAndGet();
                take(OutputBatch.decode(m.body().getBytes()));
            }).completion().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            if (gateways != null) {
                gateways.register(GATEWAY, b -> {
                    batchesInProcess.incrementAndGet();
                    take(b);
                });
            }
            sequencer = new SequencerVerticle(APP, log, new FrameSequencer.Options(256, 64 << 10, 2_000_000L, 100_000, 5, 0),
                    SequencerVerticle::wallClockNs);
            if (frames != null) {
                sequencer.withLocalReplicas(frames::deliver);
            }
            await(vertx.deployVerticle(sequencer));
            for (int r = 1; r <= 3; r++) {
                addReplica(r);
            }
            sequencer.begin();
        }

        /** Stand-in for the gateway's rule: the first replica to deliver a frame's outputs wins. */
        private synchronized void take(OutputBatch b) {
            if (!seen.add(b.seq() + "")) {
                return;
            }
            for (Output o : b.outputs()) {
                if (o instanceof Output.Send s) {
                    received.computeIfAbsent(s.connection(), k -> new ByteArrayOutputStream()).writeBytes(s.bytes());
                }
            }
        }

        ReplicaVerticle addReplica(int r) throws Exception {
            ReplicaVerticle.Options options = new ReplicaVerticle.Options(4096, java.util.Set.of());
            if (frames != null) {
                options = options.withLocalFrames(frames).withDigestSink((replica, d) -> digestsSeen.add(replica + "@" + d.seq()))
                        .withLocalGateways(gateways);
            }
            ReplicaVerticle replica = new ReplicaVerticle(APP, r, module, config, log,
                    new SnapshotStore(data.resolve("echo/replica-" + r + "/snapshots"), 2), options);
            replicas.add(replica);
            await(vertx.deployVerticle(replica));
            return replica;
        }

        void send(IngressEvent... events) {
            vertx.eventBus().send(Addresses.ingress(APP), Buffer.buffer(new IngressBatch(GATEWAY, ++batchSeq, List.of(events)).encode()));
        }

        String text(long conn) {
            ByteArrayOutputStream b = received.get(conn);
            return b == null ? "" : b.toString(StandardCharsets.UTF_8);
        }

        /**
         * Each replica takes its state digest once idle (200 ms after its last frame), on its own thread: waits until
         * all of them have one for the same frame, so comparing them compares like with like.
         */
        void awaitDigestsAtOneFrame() throws Exception {
            Poll.until("state digests of all replicas at one frame", java.time.Duration.ofSeconds(20), () -> {
                Set<Long> at = new HashSet<>();
                for (JsonObject s : statuses()) {
                    at.add(s.getString("digest") == null ? -1L : s.getLong("digestSeq"));
                }
                return at.size() == 1 && !at.contains(-1L);
            });
        }

        List<JsonObject> statuses() throws Exception {
            List<JsonObject> out = new ArrayList<>();
            for (ReplicaVerticle r : replicas) {
                out.add(await(r.status()));
            }
            return out;
        }

        @Override
        public void close() {
            vertx.close().toCompletionStage().toCompletableFuture().orTimeout(30, TimeUnit.SECONDS).join();
            log.close();
        }
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void replicas_agree_and_a_restart_continues_from_snapshot_and_log() throws Exception {
        long a = ConnectionIds.of(GATEWAY, 1);
        long b = ConnectionIds.of(GATEWAY, 2);
        List<JsonObject> before;
        try (Node node = new Node()) {
            node.send(new IngressEvent.Open(a, "main"), new IngressEvent.Data(a, "hello ".getBytes()));
            node.send(new IngressEvent.Open(b, "main"));
            for (int i = 0; i < 12; i++) {
                // One at a time, so each lands in its own frame and the replicas cross snapshot points.
                String msg = "m" + i + ";";
                node.send(new IngressEvent.Data(b, msg.getBytes()));
                Poll.until("echo of " + msg, java.time.Duration.ofSeconds(20), () -> node.text(b).endsWith(msg));
            }
            node.send(new IngressEvent.Data(a, "world".getBytes()));
            Poll.until("echo of a", java.time.Duration.ofSeconds(20), () -> node.text(a).equals("hello world"));
            Poll.until("echo of b", java.time.Duration.ofSeconds(20), () -> node.text(b).endsWith("m11;"));
            assertTrue(node.batchesByBus.get() > 0, "without a gateway in process, the answers come on the event bus");
            long last = node.log.lastSeq();
            Poll.until("all replicas at " + last, java.time.Duration.ofSeconds(20), () -> node.replicas.stream().allMatch(r -> r.appliedSeq() == last));
            node.awaitDigestsAtOneFrame();
            before = node.statuses();
            Set<String> digests = new HashSet<>();
            before.forEach(s -> digests.add(s.getString("digest")));
            assertEquals(1, digests.size(), "three replicas, one digest: " + before);
            assertTrue(last >= 5, "enough frames for a snapshot: " + last);
            for (ReplicaVerticle r : node.replicas) {
                // What a single node's sequencer weighs its next snapshot request by (NodeParts.snapshotCost).
                assertTrue(r.snapshotStateBytes() > 0, "a replica that snapshotted knows its state's size");
            }
        }
        try (Node node = new Node()) {
            long previous = before.get(0).getLong("lastSeq");
            Poll.until("the restart's GatewayLost frame", java.time.Duration.ofSeconds(20), () -> node.log.lastSeq() > previous);
            long last = node.log.lastSeq();
            Poll.until("replicas caught up after restart", java.time.Duration.ofSeconds(20), () -> node.replicas.stream().allMatch(r -> r.appliedSeq() == last));
            node.awaitDigestsAtOneFrame();
            List<JsonObject> after = node.statuses();
            assertTrue(after.get(0).getString("restoredFrom").startsWith("snapshot at frame"), after.get(0).encode());
            Set<String> digests = new HashSet<>();
            after.forEach(s -> digests.add(s.getString("digest")));
            assertEquals(1, digests.size(), "replicas agree after restart: " + after);
            assertEquals(0, after.get(0).getInteger("openConnections"), "the old connections were reset");
            long c = ConnectionIds.of(GATEWAY, 3);
            node.send(new IngressEvent.Open(c, "main"), new IngressEvent.Data(c, "again".getBytes()));
            Poll.until("echo after restart", java.time.Duration.ofSeconds(20), () -> node.text(c).equals("again"));
        }
    }

    /**
     * The node's own wiring: the sequencer hands each durable frame to the replicas in process, and they report their
     * digests straight to a sink. A replica that joins after frames were sequenced reads those from the log, then follows
     * the feed; none of them ever sees a frame beyond the next one (gapsFilled counts that bug).
     */
    @Test
    void replicas_fed_in_process_answer_report_every_digest_and_a_late_one_catches_up() throws Exception {
        long a = ConnectionIds.of(GATEWAY, 1);
        try (Node node = new Node(true)) {
            node.send(new IngressEvent.Open(a, "main"));
            for (int i = 0; i < 8; i++) {
                String msg = "x" + i + ";";
                node.send(new IngressEvent.Data(a, msg.getBytes()));
                Poll.until("echo of " + msg, java.time.Duration.ofSeconds(20), () -> node.text(a).endsWith(msg));
            }
            assertEquals(3, node.frames.size(), "three replicas fed");
            ReplicaVerticle late = node.addReplica(4);
            assertEquals(4, node.frames.size(), "the late replica is fed once started");
            node.send(new IngressEvent.Data(a, "after;".getBytes()));
            Poll.until("echo after the join", java.time.Duration.ofSeconds(20), () -> node.text(a).endsWith("after;"));
            long last = node.log.lastSeq();
            Poll.until("all four replicas at " + last, java.time.Duration.ofSeconds(20),
                    () -> node.replicas.stream().allMatch(r -> r.appliedSeq() == last));
            for (int r = 1; r <= 3; r++) {
                for (long seq = 1; seq <= last; seq++) {
                    int replica = r;
                    long frame = seq;
                    Poll.until("replica " + r + "'s digest of frame " + seq, java.time.Duration.ofSeconds(20),
                            () -> node.digestsSeen.contains(replica + "@" + frame));
                }
            }
            assertTrue(node.digestsSeen.contains("4@" + last), "the late replica reports the frames it got live: "
                    + node.digestsSeen);
            node.awaitDigestsAtOneFrame();
            Set<String> digests = new HashSet<>();
            for (JsonObject s : node.statuses()) {
                digests.add(s.getString("digest"));
                assertEquals(0, s.getLong("gapsFilled"), s.encode());
                assertEquals(0, s.getLong("guestTaskFailures"), s.encode());
            }
            assertEquals(1, digests.size(), "four replicas, one digest");
            assertEquals(0, node.batchesByBus.get(), "the gateway in process gets every batch without the event bus");
            assertTrue(node.batchesInProcess.get() >= 3 * 9, "each replica's answers to the 9 echoes: " + node.batchesInProcess.get());
            await(node.vertx.undeploy(late.deploymentID()));
            assertEquals(3, node.frames.size(), "a stopped replica is no longer fed");
        }
    }
}
