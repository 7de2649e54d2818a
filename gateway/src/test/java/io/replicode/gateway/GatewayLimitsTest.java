package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gateway's limits as an attacker or a busy user meets them, with real sockets: idle connections, slow
 * bodies and heads, too many connections from one address, connections the guest closes while the gateway
 * has paused reading, and /status polling. Timeouts are short here (seconds) so each case ends quickly.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GatewayLimitsTest {
    static final long IDLE_MS = 2_000;
    static final long HEAD_MS = 1_000;
    static final long BODY_MS = 1_000;
    static TestNode node;

    @BeforeAll
    static void start() {
        GatewayConfig.Limits shortTimes = TestNode.LIMITS.withTimeouts(IDLE_MS, HEAD_MS, BODY_MS, 500);
        GatewayConfig config = GatewayConfig.of(TestNode.GATEWAY, "127.0.0.1", List.of(
                        GatewayConfig.App.of("echo", List.of("main")).withTcp(0, "main")
                                .withLimits(shortTimes.withMaxConnections(200).withMaxConnectionsPerClient(64)),
                        // Default timeouts: kv's connections must be released without the idle timeout's help.
                        GatewayConfig.App.of("kv", List.of("resp", "http", "line")).withTcp(0, "resp")
                                .withLimits(TestNode.LIMITS.withMaxConnections(1000).withMaxConnectionsPerClient(64)),
                        GatewayConfig.App.of("web", List.of("http"))
                                .withLimits(shortTimes.withMaxConnections(100).withMaxConnectionsPerClient(1000)),
                        GatewayConfig.App.of("capped", List.of("http", "main")).withTcp(0, "main")
                                .withLimits(shortTimes.withMaxConnectionsPerClient(4)),
                        GatewayConfig.App.of("cache", List.of("resp")).withTcp(0, "resp")
                                .withLimits(shortTimes.withMaxConnectionsPerClient(2))))
                .withHttpPort(0)
                .withRequestTimeoutMs(TestNode.TIMEOUT_MS)
                .withStatusRate(1_000, 1_000);
        node = new TestNode(config, Map.of(
                "echo", new PipelineStandIn.Guest("echo_server", List.of("main")),
                "kv", new PipelineStandIn.Guest("kv_server", List.of("resp", "http", "line"))),
                List.of("web", "capped", "cache"));
    }

    @AfterAll
    static void stop() {
        node.close();
        assertEquals(List.of(), node.pipeline.problems);
    }

    @Test
    void idle_connections_from_one_address_neither_hold_the_app_nor_stay_open() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            int resetAtConnect = 0;
            for (int i = 0; i < 256; i++) {
                try {
                    idle.add(connect("127.0.0.1", node.tcpPort("echo")));
                } catch (SocketException e) {
                    // Beyond the per-client cap the gateway resets at once; on a busy machine the reset can
                    // arrive before connect() has returned, which is the same refusal seen a little earlier.
                    assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("reset"), e.toString());
                    resetAtConnect++;
                }
            }
            assertTrue(idle.size() >= 64, "the first 64 connections are within the cap, got " + idle.size()
                    + " (" + resetAtConnect + " reset at connect)");
            // The app still answers a client at another address while the 256 are held.
            try (Socket other = connect("127.0.0.2", node.tcpPort("echo"))) {
                other.getOutputStream().write("still here".getBytes(StandardCharsets.UTF_8));
                assertEquals("still here", new String(other.getInputStream().readNBytes(10), StandardCharsets.UTF_8));
            }
            // Every idle one ends: refused beyond the per-client cap, or closed by the idle timeout.
            for (Socket s : idle) {
                assertEnds(s.getInputStream());
            }
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        TestNode.eventually("no echo connection left open", () -> app("echo").getInteger("connections") == 0);
        JsonObject limits = app("echo").getJsonObject("limits");
        assertTrue(limits.getLong("perClientCap") > 0, limits.encode());
        assertTrue(limits.getLong("idleTimeout") >= 64, limits.encode());
        try (Socket again = connect("127.0.0.1", node.tcpPort("echo"))) {
            again.getOutputStream().write("back".getBytes(StandardCharsets.UTF_8));
            assertEquals("back", new String(again.getInputStream().readNBytes(4), StandardCharsets.UTF_8));
        }
    }

    @Test
    void slow_loris_bodies_get_408_and_the_app_answers_again() throws Exception {
        List<Socket> loris = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                Socket s = connect("127.0.0.1", node.gateway.httpPort());
                s.getOutputStream().write(("PUT /web/slow" + i + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                loris.add(s);
            }
            // A byte now and then from each, as long as the gateway keeps them: they must all be answered anyway.
            ExecutorService trickle = Executors.newSingleThreadExecutor();
            Future<?> trickling = trickle.submit(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    for (Socket s : loris) {
                        try {
                            s.getOutputStream().write('a');
                        } catch (IOException e) {
                            // Answered and closed: that is the point.
                        }
                    }
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            int timedOut = 0;
            int full = 0;
            for (Socket s : loris) {
                String status = statusLine(s.getInputStream());
                if (status.contains(" 408 ")) {
                    timedOut++;
                } else if (status.contains(" 503 ")) {
                    full++;
                } else {
                    throw new AssertionError("a slow PUT got " + status);
                }
            }
            trickling.cancel(true);
            trickle.shutdownNow();
            assertEquals(300, timedOut + full);
            assertTrue(timedOut >= 100, timedOut + " timed out");
        } finally {
            for (Socket s : loris) {
                s.close();
            }
        }
        assertEquals(200, node.get("/web/after-the-loris").statusCode());
        TestNode.eventually("no web connection left open", () -> app("web").getInteger("connections") == 0);
        JsonObject limits = app("web").getJsonObject("limits");
        assertTrue(limits.getLong("bodyTimeout") >= 100, limits.encode());
    }

    @Test
    void a_request_head_that_never_ends_gets_408() throws Exception {
        try (Socket s = connect("127.0.0.1", node.gateway.httpPort())) {
            s.getOutputStream().write("GET /web/x HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(statusLine(s.getInputStream()).contains(" 408 "));
            assertEnds(s.getInputStream());
        }
        assertTrue(node.status().getJsonObject("limits").getLong("httpHeadTimeouts") >= 1);
    }

    @Test
    void one_address_is_capped_on_every_protocol_and_others_are_not() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                held.add(connect("127.0.0.1", node.tcpPort("capped")));
            }
            TestNode.eventually("4 connections open", () -> app("capped").getInteger("connections") == 4);
            // Raw TCP: a reset.
            try (Socket fifth = connect("127.0.0.1", node.tcpPort("capped"))) {
                assertEnds(fifth.getInputStream());
            } catch (SocketException e) {
                assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("reset"), e.toString());
            }
            // HTTP: 429 with Retry-After.
            try (Socket http = connect("127.0.0.1", node.gateway.httpPort())) {
                http.getOutputStream().write("GET /capped/x HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                String head = head(http.getInputStream());
                assertTrue(head.startsWith("HTTP/1.1 429 "), head);
                assertTrue(head.toLowerCase().contains("retry-after: "), head);
            }
            // Another address is served.
            try (Socket http = connect("127.0.0.2", node.gateway.httpPort())) {
                http.getOutputStream().write("GET /capped/x HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                assertTrue(head(http.getInputStream()).startsWith("HTTP/1.1 200 "));
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        // RESP: the error a Redis client knows.
        int resp = node.gateway.tcpPort("cache", "resp");
        try (Socket a = connect("127.0.0.1", resp); Socket b = connect("127.0.0.1", resp)) {
            TestNode.eventually("2 cache connections open", () -> app("cache").getInteger("connections") == 2);
            try (Socket c = connect("127.0.0.1", resp)) {
                c.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.ISO_8859_1));
                assertEquals("-ERR max number of clients reached\r\n",
                        new String(c.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1));
            }
        }
        // A client over its cap whose other connection closes at once (redis-benchmark between tests) is served.
        long refusedBefore = app("cache").getJsonObject("limits").getLong("perClientCap");
        try (Socket b = connect("127.0.0.1", resp)) {
            Socket a = connect("127.0.0.1", resp);
            TestNode.eventually("2 cache connections open", () -> app("cache").getInteger("connections") == 2);
            try (Socket c = connect("127.0.0.1", resp)) {
                a.close();
                TestNode.eventually("the third connection admitted once the first closed",
                        () -> app("cache").getInteger("connections") == 2
                                && app("cache").getJsonObject("limits").getLong("perClientCap") == refusedBefore);
                c.setSoTimeout(300);
                try {
                    int first = c.getInputStream().read();
                    throw new AssertionError("the admitted connection was answered or closed: " + first);
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // admitted: nothing refused it
                }
            }
        }
        assertTrue(app("capped").getJsonObject("limits").getLong("perClientCap") >= 2);
        assertTrue(app("cache").getJsonObject("limits").getLong("perClientCap") >= 1);
    }

    @Test
    void connections_the_guest_closes_while_reading_is_paused_are_released() throws Exception {
        int port = node.gateway.tcpPort("kv", "resp");
        byte[] inline = new byte[400_000];
        java.util.Arrays.fill(inline, (byte) 'a');
        ExecutorService clients = Executors.newFixedThreadPool(8);
        AtomicInteger done = new AtomicInteger();
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < 1_030; i++) {
            all.add(clients.submit(() -> {
                try (Socket s = connect("127.0.0.1", port)) {
                    try {
                        s.getOutputStream().write(inline);
                    } catch (IOException e) {
                        // kv answered and closed before taking it all: as a real client would see it.
                    }
                }
                done.incrementAndGet();
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get(60, TimeUnit.SECONDS);
        }
        clients.shutdown();
        assertEquals(1_030, done.get());
        TestNode.eventually("every kv connection released", () -> app("kv").getInteger("connections") == 0);
        JsonObject limits = app("kv").getJsonObject("limits");
        assertTrue(limits.getLong("discardedInputBytes") > 0, limits.encode());
        try (Socket s = connect("127.0.0.1", port)) {
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertEquals("+PONG\r\n", new String(s.getInputStream().readNBytes(7), StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void status_polling_is_limited_per_address_and_the_apps_keep_answering() throws Exception {
        Promise<JsonObject> never = Promise.promise();
        AtomicInteger asked = new AtomicInteger();
        GatewayConfig config = GatewayConfig.of(TestNode.GATEWAY + 1, "127.0.0.1", List.of(
                        GatewayConfig.App.of("web", List.of("http")).withLimits(TestNode.LIMITS)))
                .withHttpPort(0)
                .withStatusProvider(() -> {
                    // A replica whose guest thread never gets to the question.
                    asked.incrementAndGet();
                    return never.future();
                });
        try (TestNode polled = new TestNode(config, Map.of(), List.of("web"))) {
            int port = polled.gateway.httpPort();
            ExecutorService pollers = Executors.newFixedThreadPool(20);
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                for (int j = 0; j < 5; j++) {
                    answers.add(pollers.submit(() -> head(port, "127.0.0.1", "/status")));
                }
            }
            int ok = 0;
            int limited = 0;
            for (Future<String> a : answers) {
                String head = a.get(60, TimeUnit.SECONDS);
                if (head.startsWith("HTTP/1.1 200 ")) {
                    ok++;
                } else {
                    assertTrue(head.startsWith("HTTP/1.1 429 "), head);
                    assertTrue(head.toLowerCase().contains("retry-after: "), head);
                    limited++;
                }
            }
            pollers.shutdown();
            assertTrue(ok >= 1 && ok <= 20, ok + " answered");
            assertTrue(limited >= 80, limited + " limited");
            // Every answered poll shared one question to the stuck provider, and each still got an answer.
            assertEquals(1, asked.get());
            assertTrue(head(port, "127.0.0.2", "/web/x").startsWith("HTTP/1.1 200 "), "the app answers meanwhile");
            String other = body(port, "127.0.0.2", "/status");
            JsonObject status = new JsonObject(other);
            assertNotNull(status.getJsonObject("pipeline").getString("error"), other);
            assertTrue(status.getJsonObject("limits").getLong("statusRateLimited") >= 80, other);
        }
    }

    // ---- helpers ----

    private static JsonObject app(String name) {
        try {
            JsonArray apps = node.status().getJsonArray("apps");
            for (int i = 0; i < apps.size(); i++) {
                if (apps.getJsonObject(i).getString("name").equals(name)) {
                    return apps.getJsonObject(i);
                }
            }
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
        throw new AssertionError("no app " + name);
    }

    /** A socket from {@code local} (any 127.x address is this machine) to the gateway's {@code port}. */
    private static Socket connect(String local, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(local, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** The stream ends (FIN or reset) before the read timeout. */
    private static void assertEnds(InputStream in) throws IOException {
        try {
            while (in.read() != -1) {
                // Whatever was sent before the end.
            }
        } catch (SocketException e) {
            assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("reset"), e.toString());
        }
    }

    private static String statusLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            line.write(c);
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    /** The response head, up to the blank line. */
    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            head.write(c);
            if (head.size() >= 4 && head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                break;
            }
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** GET {@code path} from {@code local} on a fresh connection: the response head. */
    private static String head(int port, String local, String path) throws IOException {
        try (Socket s = connect(local, port)) {
            request(s, path);
            return head(s.getInputStream());
        }
    }

    /** GET {@code path} from {@code local} on a fresh connection: the response body. */
    private static String body(int port, String local, String path) throws IOException {
        try (Socket s = connect(local, port)) {
            request(s, path);
            String head = head(s.getInputStream());
            assertTrue(head.startsWith("HTTP/1.1 200 "), head);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void request(Socket s, String path) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }
}
