package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Addresses;
import io.replicode.nat.IngressAck;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import io.replicode.replay.ReplayLog;
import io.replicode.sequencer.FrameSequencer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The clustered sequencer on a one-member cluster, driven over the event bus as gateways drive it: each gateway's
 * batches enter the history once and in batch order (a repeated batch is acknowledged, not sequenced; one after a
 * gap waits for the missing one), acknowledgements follow durability, and the member's log holds what was published.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusteredSequencerTest {
    @TempDir
    Path dir;

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    private static IngressBatch batch(long seq, IngressEvent... events) {
        return new IngressBatch(7, seq, List.of(events));
    }

    @Test
    void gateway_batches_enter_the_history_once_and_in_order_and_are_acknowledged_when_durable() throws Exception {
        try (TestCluster cluster = TestCluster.start(1);
             ReplayLog log = ReplayLog.open(dir.resolve("log"), "kv", ReplayLog.Options.DEFAULT)) {
            Running run = start(cluster, log, new FrameSequencer.Options(256, 64 << 10, 2_000_000L, 100_000));
            Vertx vertx = run.vertx();
            ConcurrentLinkedQueue<Frame> frames = run.frames();
            ConcurrentLinkedQueue<IngressAck> acks = run.acks();
            ClusteredSequencer sequencer = run.sequencer();

            long c = 42;
            byte[] b = "b".getBytes(StandardCharsets.UTF_8);
            byte[] d = "d".getBytes(StandardCharsets.UTF_8);
            send(vertx, batch(1, new IngressEvent.Open(c, "resp")));
            send(vertx, batch(3, new IngressEvent.Data(c, d)));          // after a gap: waits for 2
            send(vertx, batch(1, new IngressEvent.Open(c, "resp")));    // a resend of 1
            await(() -> acks.stream().anyMatch(a -> a.batchSeq() == 1), "the ack of batch 1");
            Thread.sleep(200);
            assertTrue(acks.stream().allMatch(a -> a.batchSeq() == 1), "batch 3 waits for 2: " + acks);
            send(vertx, batch(2, new IngressEvent.Data(c, b)));
            await(() -> acks.stream().anyMatch(a -> a.batchSeq() == 3), "the ack of batch 3");

            List<Long> marks = new ArrayList<>();
            List<IngressEvent> events = new ArrayList<>();
            for (Frame f : frames) {
                for (IngressEvent e : f.events()) {
                    if (e instanceof IngressEvent.Batch m && m.gateway() == 7) {
                        marks.add(m.batchSeq());
                    } else if (e.connection() == c) {
                        events.add(e);
                    }
                }
            }
            assertEquals(List.of(1L, 2L, 3L), marks, "each batch once, in batch order");
            assertEquals(List.of(new IngressEvent.Open(c, "resp"), new IngressEvent.Data(c, b), new IngressEvent.Data(c, d)), events);
            assertEquals(1, sequencer.status().getLong("duplicateBatches"));
            assertEquals(1, sequencer.status().getLong("heldBatches"));
            long last = frames.stream().mapToLong(Frame::seq).max().orElseThrow();
            await(() -> log.lastSeq() >= last, "the member's log to hold every published frame");
            assertEquals(new ArrayList<>(frames), log.read(1, 1000).subList(0, frames.size()));
            assertEquals(1, sequencer.status().getLong("epoch"));
        }
    }

    @Test
    void thousands_of_batches_under_load_become_one_gapless_chain_with_every_batch_once() throws Exception {
        try (TestCluster cluster = TestCluster.start(1);
             ReplayLog log = ReplayLog.open(dir.resolve("log"), "kv", ReplayLog.Options.DEFAULT)) {
            // Small frames, so batches span many frames and appends overlap.
            Running run = start(cluster, log, new FrameSequencer.Options(4, 64 << 10, 100_000L, 100_000));
            Vertx vertx = run.vertx();
            ConcurrentLinkedQueue<Frame> frames = run.frames();
            ConcurrentLinkedQueue<IngressAck> acks = run.acks();
            int n = 3_000;
            send(vertx, batch(1, new IngressEvent.Open(1, "resp")));
            for (int i = 2; i <= n; i++) {
                send(vertx, batch(i, new IngressEvent.Data(1, new byte[] {(byte) i})));
            }
            await(() -> acks.stream().anyMatch(a -> a.batchSeq() == n), "the ack of batch " + n);
            List<Long> marks = new ArrayList<>();
            long expect = 1;
            for (Frame f : frames) {
                assertEquals(expect++, f.seq(), "published frames are gapless and in order");
                for (IngressEvent e : f.events()) {
                    if (e instanceof IngressEvent.Batch m && m.gateway() == 7) {
                        marks.add(m.batchSeq());
                    }
                }
            }
            List<Long> want = new ArrayList<>();
            for (long i = 1; i <= n; i++) {
                want.add(i);
            }
            assertEquals(want, marks);
            long last = expect - 1;
            await(() -> log.lastSeq() >= last, "the member's log to hold every published frame");
            assertEquals(new ArrayList<>(frames), log.read(1, (int) last));
        }
    }

    /** A member history and a clustered sequencer of "kv" on the one member, and what gateway 7 would see. */
    private record Running(Vertx vertx, ClusteredSequencer sequencer, ConcurrentLinkedQueue<Frame> frames,
                           ConcurrentLinkedQueue<IngressAck> acks) {}

    private static Running start(TestCluster cluster, ReplayLog log, FrameSequencer.Options options) throws Exception {
        Vertx vertx = cluster.member(0).vertx();
        var hz = cluster.hz(0);
        ConcurrentLinkedQueue<Frame> frames = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<IngressAck> acks = new ConcurrentLinkedQueue<>();
        vertx.eventBus().<Buffer>consumer(Addresses.frames("kv"), m -> frames.add(FrameCodec.decode(m.body().getBytes())));
        vertx.eventBus().<Buffer>consumer(Addresses.acks(7), m -> acks.add(IngressAck.decode(m.body().getBytes())));
        MemberHistory history = new MemberHistory("kv", log, hz, List.of(), List::of, MemberHistory.Options.DEFAULT, null);
        vertx.deployVerticle(history).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        ClusteredSequencer sequencer = new ClusteredSequencer("kv", hz, history, new GatewayRegistry(hz), options, 1,
                System::nanoTime, null);
        vertx.deployVerticle(sequencer).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        await(() -> !frames.isEmpty(), "the genesis frame");
        return new Running(vertx, sequencer, frames, acks);
    }

    private static void send(Vertx vertx, IngressBatch b) {
        vertx.eventBus().send(Addresses.ingress("kv"), Buffer.buffer(b.encode()));
    }
}
