package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Addresses;
import io.replicode.nat.IngressAck;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.SequencerRoute;
import io.replicode.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gateway of a cluster member sends its ingress batches to the sequencer its route names now: to the new leader's
 * own address once the route names another member (everything not acknowledged, at once), nowhere while no leader is
 * known (kept until one is), and no longer once acknowledged.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayClusterLinkTest {
    private static final int GATEWAY = 9;
    private static final Duration WAIT = Duration.ofSeconds(20);

    private Vertx vertx;
    private GatewayVerticle gateway;
    private final AtomicReference<String> leader = new AtomicReference<>("a");
    private final ConcurrentHashMap<String, Set<Long>> received = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        for (String member : List.of("a", "b")) {
            Set<Long> seqs = ConcurrentHashMap.newKeySet();
            received.put(member, seqs);
            vertx.eventBus().<Buffer>consumer(Addresses.ingress("echo", member),
                    m -> seqs.add(IngressBatch.decode(m.body().getBytes()).batchSeq())).completion().await();
        }
        vertx.eventBus().<Buffer>consumer(Addresses.ingress("echo"), m -> received.computeIfAbsent("shared",
                k -> ConcurrentHashMap.newKeySet()).add(IngressBatch.decode(m.body().getBytes()).batchSeq())).completion().await();
        GatewayConfig config = GatewayConfig.of(GATEWAY, "127.0.0.1", List.of(
                GatewayConfig.App.of("echo", List.of("main")).withTcp(0, "main").withLimits(TestNode.LIMITS))).withHttpPort(0);
        gateway = new GatewayVerticle(config, new PrintWriter(new StringWriter()),
                new GatewayVerticle.ClusterLink(() -> null, 400, SequencerRoute.toLeader(app -> leader.get())));
        vertx.deployVerticle(gateway).await();
    }

    /** The gateway's unacknowledged batches of echo, read on its event loop (through its status). */
    private int unacknowledged() throws Exception {
        return gateway.status().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
                .getJsonObject("unacknowledgedBatches").getInteger("echo");
    }

    @AfterEach
    void stop() {
        vertx.close().await();
    }

    @Test
    void batches_follow_the_leader_wait_while_none_is_known_and_stop_once_acknowledged() throws Exception {
        try (Socket client = new Socket("127.0.0.1", gateway.tcpPort("echo", "main"))) {
            OutputStream out = client.getOutputStream();
            out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Poll.until("the first batches reach member a", WAIT, () -> !received.get("a").isEmpty());
            Set<Long> sentToA = new TreeSet<>(received.get("a"));

            leader.set("b");
            Poll.until("what a did not acknowledge is sent to b", WAIT, () -> received.get("b").containsAll(sentToA));

            leader.set(null);
            int before = received.get("b").size();
            out.write("while no leader is known\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Poll.until("the new data is batched (and kept)", WAIT, () -> unacknowledged() > sentToA.size());
            Thread.sleep(1_000);
            assertEquals(before, received.get("b").size(), "nothing is sent while no leader is known");

            leader.set("b");
            Poll.until("the kept batch reaches b once b is known", WAIT, () -> received.get("b").size() > before);
            long last = received.get("b").stream().mapToLong(Long::longValue).max().orElseThrow();
            vertx.eventBus().send(Addresses.acks(GATEWAY), Buffer.buffer(new IngressAck("echo", last).encode()));
            Poll.until("acknowledged batches are forgotten", WAIT, () -> unacknowledged() == 0);
        }
        assertTrue(received.getOrDefault("shared", Set.of()).isEmpty(), "a cluster gateway never sends to the shared address");
    }
}
