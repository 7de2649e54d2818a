package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replicode.nat.Addresses;
import io.replicode.nat.Output;
import io.replicode.replay.DigestLog;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The divergence monitor as replicas are added and removed at run time ({@code replicode scale}). */
class DivergenceMonitorTest {
    private final Vertx vertx = Vertx.vertx();
    private final List<String> rebuilds = new CopyOnWriteArrayList<>();
    private final DivergenceMonitor monitor = new DivergenceMonitor(vertx, "kv", 3, new PrintWriter(new StringWriter()),
            (replica, seq) -> rebuilds.add(replica + "@" + seq));

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void digest(int replica, long seq, String sent) {
        byte[] payload = DigestLog.encode(DigestLog.of(seq, List.of(new Output.Send(1, 0, sent.getBytes())), null));
        vertx.eventBus().send(Addresses.digests("kv"),
                Buffer.buffer(ByteBuffer.allocate(4 + payload.length).putInt(replica).put(payload).array()));
    }

    private JsonObject await(Predicate<JsonObject> ok) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        JsonObject s = monitor.status();
        while (!ok.test(s) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            s = monitor.status();
        }
        return s;
    }

    /** The rebuild a divergence asks for starts on an event loop, after the alarm: waits for {@code n} of them. */
    private void awaitRebuilds(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (rebuilds.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    /**
     * How a node's replicas report: {@link DivergenceMonitor#report} on their own threads, without the event bus. Each
     * frame is compared once all three reported, whichever thread came last; the odd one out is rebuilt once.
     */
    @Test
    void replicas_reporting_from_their_own_threads_are_compared_and_the_odd_one_rebuilt() throws Exception {
        int frames = 2_000;
        long odd = 1_500;
        List<Thread> threads = new java.util.ArrayList<>();
        for (int r = 1; r <= 3; r++) {
            int replica = r;
            threads.add(new Thread(() -> {
                for (long seq = 1; seq <= frames; seq++) {
                    String sent = replica == 2 && seq == odd ? "other" : "same " + seq;
                    monitor.report(replica, DigestLog.of(seq, List.of(new Output.Send(1, 0, sent.getBytes())), null));
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        JsonObject s = monitor.status();
        assertEquals(1L, s.getLong("divergences"), s.encode());
        // Replica 2 is no longer compared after its divergence: the frames after it are compared on 1 and 3.
        assertEquals((long) frames, s.getLong("framesCompared"), s.encode());
        assertEquals(0L, s.getLong("waitingSeqs"), s.encode());
        awaitRebuilds(1);
        assertEquals(List.of("2@" + odd), rebuilds);
    }

    @Test
    void an_added_replica_is_compared_after_it_settles_and_a_removed_one_is_no_longer_waited_for() throws Exception {
        monitor.start();
        Thread.sleep(100); // the consumer's registration
        for (int r = 1; r <= 3; r++) {
            digest(r, 1, "a");
        }
        assertEquals(1L, await(s -> s.getLong("framesCompared") == 1).getLong("framesCompared"));

        monitor.added(4);
        for (int r = 1; r <= 3; r++) {
            digest(r, 2, "b");
        }
        assertEquals(2L, await(s -> s.getLong("framesCompared") == 2).getLong("framesCompared"),
                "a joining replica is not waited for");
        digest(4, 2, "b"); // its first live digest: compared from frame 2 + 64 on
        long settled = 2 + DivergenceMonitor.JOIN_SETTLE_FRAMES;
        for (int r = 1; r <= 3; r++) {
            digest(r, settled, "c");
        }
        assertEquals(1L, await(s -> s.getLong("waitingSeqs") == 1).getLong("waitingSeqs"), "it is waited for now");
        digest(4, settled, "not c");
        JsonObject s = await(x -> x.getLong("divergences") == 1);
        assertEquals(1L, s.getLong("divergences"), s.encode());
        awaitRebuilds(1);
        assertEquals(List.of("4@" + settled), rebuilds);

        monitor.removed(4);
        digest(1, 100, "d");
        digest(2, 100, "d");
        assertEquals(1L, await(x -> x.getLong("waitingSeqs") == 1).getLong("waitingSeqs"), "waits for replica 3");
        monitor.removed(3);
        s = await(x -> x.getLong("waitingSeqs") == 0 && x.getLong("framesCompared") == 4);
        assertEquals(0L, s.getLong("waitingSeqs"), s.encode());
        assertEquals(4L, s.getLong("framesCompared"), "the frame that only waited for the removed replica is compared");
        digest(3, 101, "late"); // a removed replica's digest is ignored
        digest(1, 102, "e");
        digest(2, 102, "e");
        s = await(x -> x.getLong("framesCompared") == 5);
        assertEquals(5L, s.getLong("framesCompared"), s.encode());
        assertEquals(0L, s.getLong("waitingSeqs"), "nothing waits for frame 101: " + s.encode());
    }
}
