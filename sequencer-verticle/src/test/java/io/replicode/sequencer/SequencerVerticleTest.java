package io.replicode.sequencer;

import io.replicode.testing.Poll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replicode.nat.Addresses;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.ReplayLog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded sequencer on a real event bus and log: what it publishes carries the batch marks replicas need. */
class SequencerVerticleTest {
    private static final String APP = "kv";

    @TempDir
    Path dir;

    @Test
    void batches_are_published_behind_their_marks_and_a_restart_resets_behind_the_sequencer_mark() throws Exception {
        IngressEvent open = new IngressEvent.Open(1, "resp");
        IngressEvent hello = new IngressEvent.Data(1, "hello".getBytes());
        IngressEvent world = new IngressEvent.Data(1, "world".getBytes());
        Vertx vertx = Vertx.vertx();
        ReplayLog log = ReplayLog.open(dir, APP, ReplayLog.Options.DEFAULT);
        try {
            List<IngressEvent> published = new CopyOnWriteArrayList<>();
            await(vertx.eventBus().<Buffer>consumer(Addresses.frames(APP),
                    m -> published.addAll(FrameCodec.decode(m.body().getBytes()).events())).completion());
            String first = start(vertx, log);
            send(vertx, new IngressBatch(5, 1, List.of(open, hello)));
            send(vertx, new IngressBatch(5, 1, List.of(open, hello)));
            send(vertx, new IngressBatch(0, 1, List.of(world)));
            send(vertx, new IngressBatch(5, 2, List.of(world)));
            List<IngressEvent> expected = List.of(new IngressEvent.Batch(5, 1), open, hello, new IngressEvent.Batch(5, 2), world);
            Poll.until("both batches published", java.time.Duration.ofSeconds(20), () -> published.size() >= expected.size());
            assertEquals(expected, published, "the copy of batch 1 is dropped here already; gateway 0 is refused");
            await(vertx.undeploy(first));

            published.clear();
            start(vertx, log);
            Poll.until("the restart's frame", java.time.Duration.ofSeconds(20), () -> published.size() >= 2);
            assertEquals(List.of(new IngressEvent.Batch(0, 0), new IngressEvent.GatewayLost(IngressEvent.GatewayLost.ALL)),
                    published);
            List<IngressEvent> logged = new ArrayList<>();
            for (Frame f : log.read(1, 100)) {
                logged.addAll(f.events());
            }
            List<IngressEvent> all = new ArrayList<>(expected);
            all.addAll(published);
            assertEquals(all, logged, "the log holds what was published");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            log.close();
        }
    }

    /** Deploys a sequencer over {@code log} and lets it cut its first frame; returns its deployment id. */
    private static String start(Vertx vertx, ReplayLog log) throws Exception {
        SequencerVerticle s = new SequencerVerticle(APP, log, FrameSequencer.Options.DEFAULT, SequencerVerticle::wallClockNs);
        String id = await(vertx.deployVerticle(s));
        s.begin();
        return id;
    }

    private static void send(Vertx vertx, IngressBatch batch) {
        vertx.eventBus().send(Addresses.ingress(APP), Buffer.buffer(batch.encode()));
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
