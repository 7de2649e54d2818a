package io.replicode.launcher.embedded;

import io.replicode.node.EmbeddedNode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.node.TestGuests;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
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
        awaitOutput("[echo stderr] echo: listening on fd 3");
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
    void a_poisonous_request_resets_only_its_client_and_the_app_keeps_serving_across_a_node_restart() throws Exception {
        start("traps", "traps");
        try (Socket keeper = connect("traps"); Socket poison = connect("traps")) {
            keeper.getOutputStream().write(ascii("ok\n"));
            assertArrayEquals(ascii("ok\n"), readExactly(keeper, 3));
            poison.getOutputStream().write(ascii("unreachable\n"));
            assertClosedWithoutReply(poison);
            keeper.getOutputStream().write(ascii("ok\n"));
            assertArrayEquals(ascii("ok\n"), readExactly(keeper, 3), "the other client keeps its session");
        }
        assertEquals("ok", call("traps", "ok"), "new clients are served");
        JsonObject replicas = awaitReplicas(r -> r.getLong("rollbacks", 0L) == 1);
        for (int i = 0; i < 3; i++) {
            JsonObject r = replicas.getJsonArray("replicas").getJsonObject(i);
            assertTrue(r.getString("lastFault").startsWith("trap: unreachable (frame "), r.encode());
            assertEquals("PARKED", r.getString("state"));
            assertTrue(r.getInteger("openDescriptors") >= 4, "stdio and the listener: " + r.encode());
            assertTrue(r.getLong("fuelConsumed") > 0, r.encode());
        }
        JsonObject app = appStatus();
        assertEquals("running", app.getString("state"));
        assertEquals(1L, app.getLong("recoveries"), app.encode());
        assertTrue(app.getString("lastRecovery").contains("rolled back"), app.encode());
        awaitOutput("traps: recovered: trap: unreachable");

        node.close();
        start("traps", "traps");
        assertEquals("ok", call("traps", "ok"), "after a node restart the app still serves");
        assertEquals("running", appStatus().getString("state"));
        node.close();
        node = null;
        StringWriter verify = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(verify, true));
        cli.setErr(new PrintWriter(verify, true));
        assertEquals(0, cli.execute("replay", "verify", "--data", tmp.toString(), "--app", "traps"),
                "replaying the log, rollback included, gives the recorded digests: " + verify);
    }

    @Test
    void an_app_that_exited_stays_stopped_across_a_node_restart_with_its_reason_until_restarted_by_hand() throws Exception {
        start("traps", "traps");
        try (Socket s = connect("traps")) {
            s.getOutputStream().write(ascii("exit 0\n"));
            assertClosedWithoutReply(s);
        }
        awaitApp(a -> "stopped".equals(a.getString("state")));
        node.close();
        start("traps", "traps");
        JsonObject app = awaitApp(a -> "stopped".equals(a.getString("state")));
        assertTrue(app.getString("stoppedReason").startsWith("exit: status 0 (frame "), app.encode());
        awaitOutput("Fix: ./replicode restart --app traps");
        try (Socket refused = new Socket(InetAddress.getLoopbackAddress(), port("traps"))) {
            refused.setSoTimeout(READ_TIMEOUT_MS);
            refused.getOutputStream().write(ascii("ok\n"));
            assertClosedWithoutReply(refused);
        } catch (SocketException refusedOrReset) {
            // refused outright: a stopped app takes no clients
        }

        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        int exit = cli.execute("restart", "--app", "traps", "--node", "http://127.0.0.1:" + node.httpPort());
        assertEquals(0, exit, said.toString());
        assertTrue(said.toString().contains("'traps' restarted: restarted on request at frame "), said.toString());
        assertEquals("ok", call("traps", "ok"), "the app serves again");
        JsonObject replicas = awaitReplicas(r -> r.getLong("restarts", 0L) == 1);
        assertEquals("PARKED", replicas.getJsonArray("replicas").getJsonObject(0).getString("state"));

        var cliError = io.replicode.launcher.ReplicodeCommand.commandLine();
        StringWriter err = new StringWriter();
        cliError.setErr(new PrintWriter(err, true));
        assertEquals(2, cliError.execute("restart", "--app", "nope", "--node", "http://127.0.0.1:" + node.httpPort()));
        assertTrue(err.toString().contains("Fix:"), err.toString());
    }

    /** The server closed or reset {@code s} without sending anything. */
    private static void assertClosedWithoutReply(Socket s) throws IOException {
        try {
            assertEquals(-1, s.getInputStream().read(), "no reply");
        } catch (SocketException reset) {
            // RST: as expected
        }
    }

    /** One line command on a new connection; its one-line reply. */
    private String call(String app, String line) throws IOException {
        try (Socket s = connect(app)) {
            s.getOutputStream().write(ascii(line + "\n"));
            return new String(readLine(s.getInputStream()), StandardCharsets.US_ASCII);
        }
    }

    private JsonObject nodeStatus() throws Exception {
        return node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private JsonObject appStatus() throws Exception {
        return nodeStatus().getJsonArray("apps").getJsonObject(0);
    }

    private JsonObject awaitApp(java.util.function.Predicate<JsonObject> ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            JsonObject app = appStatus();
            if (ready.test(app)) {
                return app;
            }
            if (System.nanoTime() > deadline) {
                fail("the app never reached the expected state: " + app.encode());
            }
            Thread.sleep(20);
        }
    }

    /** The pipeline part of /status for the (only) app: sequencer and replicas. */
    private static JsonObject pipelineApp(JsonObject status) {
        JsonObject pipeline = status.getJsonObject("pipeline");
        JsonObject apps = pipeline == null ? null : pipeline.getJsonObject("apps");
        return apps == null ? null : apps.getJsonObject("traps");
    }

    /** Waits until every replica of the (only) app satisfies {@code ready}; returns the app's pipeline status. */
    private JsonObject awaitReplicas(java.util.function.Predicate<JsonObject> ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            JsonObject status = nodeStatus();
            JsonObject app = pipelineApp(status);
            JsonArray replicas = app == null ? new JsonArray() : app.getJsonArray("replicas", new JsonArray());
            boolean all = replicas.size() == 3;
            for (int i = 0; i < replicas.size(); i++) {
                JsonObject r = replicas.getJsonObject(i);
                all &= r.getString("unavailable") == null && ready.test(r);
            }
            if (all) {
                return app;
            }
            if (System.nanoTime() > deadline) {
                fail("the replicas never reached the expected state: " + status.encode());
            }
            Thread.sleep(20);
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
