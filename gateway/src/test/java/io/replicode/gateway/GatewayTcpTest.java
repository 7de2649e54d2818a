package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Addresses;
import io.replicode.nat.IngressEvent;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Raw TCP through the gateway to the echo guest, with real sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayTcpTest {
    static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode();
    }

    @AfterAll
    static void stop() {
        node.close();
        assertEquals(java.util.List.of(), node.pipeline.problems);
    }

    private Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", node.tcpPort("echo")), 5000);
        s.setSoTimeout(15_000);
        return s;
    }

    private static byte[] readN(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        assertEquals(n, b.length, "stream ended early");
        return b;
    }

    @Test
    void echo_round_trip() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("hello\n", new String(readN(s.getInputStream(), 6), StandardCharsets.UTF_8));
            s.getOutputStream().write("again".getBytes(StandardCharsets.UTF_8));
            assertEquals("again", new String(readN(s.getInputStream(), 5), StandardCharsets.UTF_8));
        }
    }

    @Test
    void half_close_gets_the_rest_of_the_reply_then_eof() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write("last words".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            // The echo guest flushes and closes when its input ends; the gateway keeps the socket writable until then.
            assertEquals("last words", new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void three_mib_both_ways_arrive_intact() throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        try (Socket s = connect()) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int at = 0; at < data.length; at += 100_000) {
                        out.write(data, at, Math.min(100_000, data.length - at));
                    }
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] echoed = s.getInputStream().readAllBytes();
            writer.get(30, TimeUnit.SECONDS);
            assertEquals(data.length, echoed.length);
            assertArrayEquals(data, echoed);
        }
    }

    @Test
    void client_that_does_not_read_is_paused_not_buffered() throws Exception {
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 << 10);
            s.setSendBufferSize(16 << 10);
            s.connect(new InetSocketAddress("127.0.0.1", node.tcpPort("echo")), 5000);
            s.setSoTimeout(15_000);
            AtomicLong written = new AtomicLong();
            long total = 256L << 20;
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                byte[] chunk = new byte[64 << 10];
                try {
                    OutputStream out = s.getOutputStream();
                    while (written.get() < total) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            // Wait until the writer is stuck: back-pressure reached the client.
            long seen = -1;
            long stableSince = System.nanoTime();
            while (System.nanoTime() - stableSince < TimeUnit.MILLISECONDS.toNanos(500)) {
                long now = written.get();
                if (now != seen) {
                    seen = now;
                    stableSince = System.nanoTime();
                }
                assertTrue(!writer.isDone(), "the writer finished: nothing paused it");
                Thread.sleep(20);
            }
            assertTrue(seen < total, "the client was paused after " + seen + " bytes");
            JsonObject mapping = mappingOf("echo", "tcp");
            assertTrue(mapping.getLong("heldFromClient") <= 256 << 10, mapping.encode());
            assertTrue(mapping.getLong("inFlightToGuest") <= 256 << 10, mapping.encode());
            assertTrue(mapping.getLong("pendingToClient") <= 256 << 10, mapping.encode());

            // Reading resumes the flow: what was echoed so far arrives, and the writer moves on.
            InputStream in = s.getInputStream();
            byte[] buf = new byte[1 << 16];
            long read = 0;
            while (read < seen) {
                int n = in.read(buf);
                assertTrue(n > 0);
                read += n;
            }
            long paused = seen;
            TestNode.eventually("the writer moves on", () -> written.get() > paused);
            s.setSoLinger(true, 0);
        }
    }

    @Test
    void client_reset_reaches_the_guest() throws Exception {
        long resetsBefore = node.pipeline.count("echo", IngressEvent.Reset.class);
        Socket s = connect();
        s.getOutputStream().write("x".getBytes(StandardCharsets.UTF_8));
        assertEquals("x", new String(readN(s.getInputStream(), 1), StandardCharsets.UTF_8));
        s.setSoLinger(true, 0);
        s.close();
        TestNode.eventually("the guest saw a reset",
                () -> node.pipeline.count("echo", IngressEvent.Reset.class) > resetsBefore);
    }

    @Test
    void duplicates_are_dropped_and_malformed_outputs_counted() throws Exception {
        try (Socket s = connect()) {
            s.getOutputStream().write("once".getBytes(StandardCharsets.UTF_8));
            assertEquals("once", new String(readN(s.getInputStream(), 4), StandardCharsets.UTF_8));
            long malformedBefore = node.status().getJsonObject("outputs").getLong("malformedDropped");
            node.vertx.eventBus().send(Addresses.outputs(TestNode.GATEWAY), Buffer.buffer(new byte[] {1, 3, 'e'}));
            node.vertx.eventBus().send(Addresses.outputs(TestNode.GATEWAY), "not a batch");
            TestNode.eventually("malformed outputs counted", () -> {
                try {
                    return node.status().getJsonObject("outputs").getLong("malformedDropped") == malformedBefore + 2;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            // Each frame's outputs came from two replicas; one copy of each was applied, and the stream is intact.
            JsonObject outputs = node.status().getJsonObject("outputs");
            assertTrue(outputs.getLong("duplicatesDropped") >= outputs.getLong("batchesApplied") - 1, outputs.encode());
            assertEquals(0, outputs.getLong("misalignedResets"));
            s.getOutputStream().write("twice".getBytes(StandardCharsets.UTF_8));
            assertEquals("twice", new String(readN(s.getInputStream(), 5), StandardCharsets.UTF_8));
        }
    }

    /** The first NAT mapping of {@code app} of {@code kind} in /status. */
    private static JsonObject mappingOf(String app, String kind) throws Exception {
        JsonArray mappings = node.status().getJsonObject("nat").getJsonArray("mappings");
        for (int i = 0; i < mappings.size(); i++) {
            JsonObject m = mappings.getJsonObject(i);
            if (m.getString("app").equals(app) && m.getString("kind").equals(kind)) {
                return m;
            }
        }
        throw new AssertionError("no " + kind + " mapping of " + app + " in " + mappings.encode());
    }
}
