package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.UpstreamServer;
import io.replicode.node.EmbeddedNode;
import io.replicode.node.TestGuests;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.replica.module.Engine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests that connect out, on a real embedded node with three replicas, on each engine: {@code rc_lines} (RepliCode's interface,
 * connecting with a sockaddr_in) and {@code we_proxy} (WasmEdge's, resolving the upstream's name). The upstream is a
 * server this test runs: it sees exactly one connection per guest connect whatever the number of replicas; a refused,
 * a timed-out and an unlisted upstream give the guest the errno they should; the replicas agree, and the recorded log
 * replays ({@code replay verify}) with the upstream gone.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpstreamNodeTest {
    private static final int READ_TIMEOUT_MS = 20_000;

    @TempDir
    Path tmp;

    private final StringWriter output = new StringWriter();
    private EmbeddedNode node;
    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        if (node != null) {
            node.close();
        }
        for (AutoCloseable c : closeAfter) {
            c.close();
        }
    }

    private void start(JsonObject apps, Engine engine) throws IOException {
        Path config = tmp.resolve("replicode.json");
        Files.writeString(config, new JsonObject().put("http", new JsonObject().put("port", 0)).put("replicas", 3)
                .put("apps", apps).encodePrettily());
        NodeConfig c = ConfigLoader.load(new ConfigLoader.Flags(config, true, "127.0.0.1", engine, tmp.resolve("data"),
                List.of(), List.of(), List.of(), 3, 0));
        node = EmbeddedNode.start(c, new PrintWriter(output, true));
    }

    private static JsonObject app(String module, String listener, List<String> upstreams) {
        return new JsonObject().put("module", TestGuests.module(module).toString())
                .put("listeners", new JsonArray().add(listener))
                .put("tcp", new JsonArray().add(new JsonObject().put("port", 0).put("listener", listener)))
                .put("upstreams", new JsonArray(new ArrayList<>(upstreams)))
                .put("upstreamConnectTimeoutMs", 1000);
    }

    private String session(String app, String input) throws IOException {
        int port = node.tcpEndpoints().stream().filter(e -> e.app().equals(app)).findFirst().orElseThrow().port();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(READ_TIMEOUT_MS);
            s.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void each_guest_connect_is_one_upstream_connection_and_the_log_replays_without_the_upstream(Engine engine)
            throws Exception {
        UpstreamServer upper = UpstreamServer.upper();
        closeAfter.add(upper);
        // Nothing listens on a port whose server was closed: refused.
        ServerSocket gone = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        int refusedPort = gone.getLocalPort();
        gone.close();
        // A server that never accepts, its backlog full: the connect's SYN is dropped and the connect times out.
        ServerSocket deaf = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        closeAfter.add(deaf);
        for (int i = 0; i < 4; i++) {
            Socket f = new Socket();
            closeAfter.add(f);
            try {
                f.connect(deaf.getLocalSocketAddress(), 300);
            } catch (java.net.SocketTimeoutException full) {
                break; // the backlog is full: this connect's SYN was dropped, as the guest's will be
            }
        }
        int deafPort = deaf.getLocalPort();
        start(new JsonObject()
                .put("rc", app("rc_lines", "lines", List.of("127.0.0.1:" + upper.port(), "127.0.0.1:" + refusedPort,
                        "127.0.0.1:" + deafPort)))
                .put("we", app("we_proxy", "main", List.of("localhost:" + upper.port()))
                        .put("env", new JsonObject().put("UPSTREAM", "localhost:" + upper.port()))), engine);

        for (int i = 0; i < 5; i++) {
            assertEquals("HELLO " + i + "\n", session("rc", "FETCH 127.0.0.1 " + upper.port() + " hello " + i + "\n"));
        }
        assertEquals(5, upper.accepted(), "one upstream connection per guest connect, with three replicas");
        assertEquals("PING\n", session("we", "PROXY ping\n"));
        assertEquals(6, upper.accepted());

        assertEquals("ERR connect 14\n", session("rc", "FETCH 127.0.0.1 " + refusedPort + " x\n"), "refused: ECONNREFUSED");
        assertEquals("ERR connect 73\n", session("rc", "FETCH 127.0.0.1 " + deafPort + " x\n"), "timed out: ETIMEDOUT");
        assertEquals("ERR connect 14\n", session("rc", "FETCH 127.0.0.2 " + upper.port() + " x\n"),
                "not listed: refused at once");
        assertEquals(6, upper.accepted());

        NodeProbe.awaitReplicasAgree(node, "rc", 3);
        NodeProbe.awaitReplicasAgree(node, "we", 3);
        JsonObject replica = NodeProbe.pipeline(node, "rc").getJsonArray("replicas").getJsonObject(0);
        assertEquals("replicode", replica.getString("socketAbi"));
        assertEquals(1, replica.getLong("refusedConnects"), replica.encode());
        assertEquals("wasmedge", NodeProbe.pipeline(node, "we").getJsonArray("replicas").getJsonObject(0).getString("socketAbi"));
        String who = session("we", "WHO\n");
        assertTrue(who.matches("PEER 10\\.\\d+\\.\\d+\\.\\d+:\\d+ LOCAL 127\\.0\\.0\\.1:\\d+\n"), who);

        node.close();
        node = null;
        upper.close();
        NodeProbe.replayVerifies(tmp.resolve("data"), "rc", "the log replays without its upstream");
        NodeProbe.replayVerifies(tmp.resolve("data"), "we", "the log replays without its upstream");
    }
}
