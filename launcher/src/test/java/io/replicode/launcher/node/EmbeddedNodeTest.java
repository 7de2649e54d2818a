package io.replicode.launcher.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.launcher.TestGuests;
import io.replicode.launcher.config.AppConfig;
import io.replicode.launcher.config.Batching;
import io.replicode.launcher.config.NodeConfig;
import io.replicode.launcher.config.TcpBinding;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real embedded node (gateway, sequencer, fsynced log, three replicas) on ephemeral ports, real guests, real client sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EmbeddedNodeTest {
    private static final int READ_TIMEOUT_MS = 15_000;

    @TempDir
    Path tmp;

    private final StringWriter output = new StringWriter();
    private EmbeddedNode node;

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private EmbeddedNode start(String app, String guest) {
        AppConfig config = new AppConfig(app, TestGuests.module(guest), List.of("main"), List.of(new TcpBinding(0, "main")),
                GuestLimits.DEFAULT, 64);
        node = EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, tmp, Batching.DEFAULT, List.of(config),
                0, 3, ReplayLog.FsyncPolicy.ALWAYS, 1000), new PrintWriter(output, true));
        return node;
    }

    private int port(String app) {
        return node.tcpEndpoints().stream().filter(e -> e.app().equals(app)).findFirst().orElseThrow().port();
    }

    private Socket connect(String app) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port(app));
        s.setSoTimeout(READ_TIMEOUT_MS);
        return s;
    }

    private static byte[] readExactly(Socket s, int n) throws IOException {
        byte[] b = s.getInputStream().readNBytes(n);
        assertEquals(n, b.length, "connection ended early");
        return b;
    }

    private static byte[] readToEnd(Socket s) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        s.getInputStream().transferTo(all);
        return all.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Waits (bounded) until the node printed {@code needle}. */
    private void awaitOutput(String needle) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!output.toString().contains(needle)) {
            if (System.nanoTime() > deadline) {
                fail("the node never printed '" + needle + "'; it printed:\n" + output);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void startup_says_where_it_listens() throws InterruptedException {
        start("echo", "echo_server");
        String printed = output.toString();
        assertTrue(printed.contains("3 replicas per app, fsync always"), printed);
        assertTrue(printed.contains("echo: tcp 127.0.0.1:" + port("echo") + " -> listener 'main'"), printed);
        assertTrue(printed.contains("echo: module " + TestGuests.module("echo_server") + " (compiler, asyncify)"), printed);
        assertTrue(printed.contains("status: http://127.0.0.1:" + node.httpPort() + "/status"), printed);
        awaitOutput("[echo] echo: listening on fd 3");
    }

    @Test
    void echo_round_trip_then_half_close_gets_the_server_close() throws IOException {
        start("echo", "echo_server");
        try (Socket s = connect("echo")) {
            s.getOutputStream().write(ascii("hello\n"));
            assertArrayEquals(ascii("hello\n"), readExactly(s, 6));
            s.shutdownOutput();
            assertEquals(-1, s.getInputStream().read(), "the guest closes after the client's FIN");
        }
    }

    @Test
    void two_concurrent_clients_each_get_their_own_bytes() throws IOException {
        start("echo", "echo_server");
        try (Socket a = connect("echo"); Socket b = connect("echo")) {
            a.getOutputStream().write(ascii("from a 1 "));
            b.getOutputStream().write(ascii("from b 1 "));
            a.getOutputStream().write(ascii("from a 2"));
            assertArrayEquals(ascii("from b 1 "), readExactly(b, 9));
            assertArrayEquals(ascii("from a 1 from a 2"), readExactly(a, 17));
            b.shutdownOutput();
            assertEquals(-1, b.getInputStream().read());
            a.getOutputStream().write(ascii("still here"));
            assertArrayEquals(ascii("still here"), readExactly(a, 10));
        }
    }

    @Test
    void megabytes_pass_both_windows_and_the_fin_stays_behind_the_data() throws Exception {
        start("echo", "echo_server");
        // Far more than the guest's 256 KiB receive buffer and send window: reading must pause and resume,
        // windows must come back, and the FIN sent right after the last byte must not overtake it.
        byte[] payload = new byte[3 << 20];
        new Random(42).nextBytes(payload);
        try (Socket s = connect("echo")) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    s.getOutputStream().write(payload);
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] echoed = readToEnd(s);
            writer.get(30, TimeUnit.SECONDS);
            assertEquals(payload.length, echoed.length);
            assertArrayEquals(payload, echoed);
        }
    }

    @Test
    void a_client_reset_does_not_disturb_others() throws IOException {
        start("echo", "echo_server");
        Socket rude = connect("echo");
        try (Socket polite = connect("echo")) {
            rude.getOutputStream().write(ascii("bye"));
            readExactly(rude, 3);
            rude.setSoLinger(true, 0);
            rude.close();
            polite.getOutputStream().write(ascii("hi"));
            assertArrayEquals(ascii("hi"), readExactly(polite, 2));
        }
    }

    @Test
    void a_clock_wait_is_woken_by_a_tick_frame() throws IOException {
        start("probe", "probe");
        try (Socket s = connect("probe")) {
            s.getOutputStream().write(ascii("sleep 20\n"));
            String reply = new String(readLine(s.getInputStream()), StandardCharsets.US_ASCII);
            assertTrue(reply.startsWith("slept monotonic "), reply);
        }
    }

    @Test
    void a_stopped_guest_resets_its_clients_and_refuses_new_ones() throws Exception {
        start("traps", "traps");
        int port = port("traps");
        try (Socket s = connect("traps")) {
            s.getOutputStream().write(ascii("ok\n"));
            assertArrayEquals(ascii("ok\n"), readExactly(s, 3));
            s.getOutputStream().write(ascii("unreachable\n"));
            try {
                assertEquals(-1, s.getInputStream().read());
            } catch (SocketException reset) {
                // RST: as expected
            }
        }
        // A new client is refused: the connection is closed or reset without a reply.
        try (Socket late = new Socket(InetAddress.getLoopbackAddress(), port)) {
            late.setSoTimeout(READ_TIMEOUT_MS);
            late.getOutputStream().write(ascii("ok\n"));
            assertEquals(-1, late.getInputStream().read(), "no reply from a stopped app");
        } catch (SocketException refusedOrReset) {
            // refused outright, or reset before or after our write: all mean "refused"
        }
        String status = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS).encode();
        assertTrue(status.contains("trap: unreachable"), status);
    }

    @Test
    void an_app_stopped_before_a_restart_is_reported_stopped_after_it() throws Exception {
        start("traps", "traps");
        try (Socket s = connect("traps")) {
            s.getOutputStream().write(ascii("div0\n"));
            try {
                s.getInputStream().read();
            } catch (SocketException reset) {
                // the app stopped
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS).encode().contains("integer divide by zero")) {
            if (System.nanoTime() > deadline) {
                fail("the stop never showed in /status");
            }
            Thread.sleep(10);
        }
        node.close();
        start("traps", "traps");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            var status = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
            var app = status.getJsonArray("apps").getJsonObject(0);
            if ("stopped".equals(app.getString("state"))) {
                assertTrue(String.valueOf(app.getString("stoppedReason")).contains("integer divide by zero"), app.encode());
                break;
            }
            if (System.nanoTime() > deadline) {
                fail("after the restart the gateway still says: " + app.encode());
            }
            Thread.sleep(10);
        }
    }

    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                fail("connection ended before a whole line: " + line);
            }
            line.write(b);
        }
        return line.toByteArray();
    }
}
