package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.gateway.eventbus.EventBusIngress;
import io.replicode.nat.Addresses;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** /health, /status, guest logs, a stopped app, and a port in use. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayStatusTest {
    static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode(c -> c.withStatusMappings(3).withFirstConnectionCounter(1000));
    }

    @AfterAll
    static void stop() {
        node.close();
        assertEquals(List.of(), node.pipeline.problems);
    }

    private static Socket connect(String app) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", node.tcpPort(app)), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    @Test
    void health_is_up() throws Exception {
        HttpResponse<String> r = node.get("/health");
        assertEquals(200, r.statusCode());
        assertEquals("UP", new JsonObject(r.body()).getString("status"));
    }

    @Test
    void status_shows_apps_ports_connections_and_a_bounded_nat_list() throws Exception {
        List<Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                Socket s = connect("echo");
                clients.add(s);
                s.getOutputStream().write('a');
                assertEquals('a', s.getInputStream().read());
            }
            JsonObject status = node.status();
            assertEquals(TestNode.GATEWAY, status.getJsonObject("gateway").getInteger("id"));
            assertEquals(node.gateway.httpPort(), status.getJsonObject("gateway").getInteger("httpPort"));

            JsonObject echo = app(status, "echo");
            assertEquals("running", echo.getString("state"));
            assertEquals(new JsonArray().add("main"), echo.getJsonArray("listeners"));
            assertEquals(node.tcpPort("echo"), echo.getJsonArray("tcp").getJsonObject(0).getInteger("port"));
            assertNull(echo.getString("http"));
            assertTrue(echo.getInteger("connections") >= 5, echo.encode());
            assertTrue(echo.getLong("lastOutputSeq") > 0, echo.encode());
            assertEquals("/web/ -> http", app(status, "web").getString("http"));

            JsonObject nat = status.getJsonObject("nat");
            assertTrue(nat.getInteger("count") >= 5, nat.encode());
            assertEquals(3, nat.getInteger("listed"));
            assertEquals(3, nat.getJsonArray("mappings").size());
            JsonObject first = nat.getJsonArray("mappings").getJsonObject(0);
            assertTrue(first.getString("connection").matches(TestNode.GATEWAY + ":1\\d\\d\\d"), first.encode());
            assertEquals("tcp", first.getString("kind"));
            assertEquals(PipelineStandIn.REPLICAS, status.getJsonObject("pipeline").getInteger("replicas"));
        } finally {
            for (Socket s : clients) {
                s.close();
            }
        }
        TestNode.eventually("closed connections leave the NAT", () -> {
            try {
                return app(node.status(), "echo").getInteger("connections") == 0;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void guest_logs_are_printed_with_the_app_prefix() throws Exception {
        TestNode.eventually("the echo guest's startup line", () -> node.log.toString().contains("[echo stderr] "));
    }

    @Test
    void stopped_app_resets_its_clients_refuses_new_ones_and_says_why() throws Exception {
        try (Socket held = connect("halt")) {
            HttpResponse<String> r = node.get("/halt/stop");
            assertEquals(503, r.statusCode());
            assertTrue(r.body().contains("trap: unreachable (stand-in)"), r.body());
            assertEndsAbruptly(held.getInputStream());
        }
        HttpResponse<String> later = node.get("/halt/anything");
        assertEquals(503, later.statusCode());
        assertTrue(later.body().contains("app 'halt' stopped: trap: unreachable (stand-in)"), later.body());
        try (Socket refused = new Socket()) {
            // Accepted and reset at once: the reset may already be there when connect returns.
            refused.connect(new InetSocketAddress("127.0.0.1", node.tcpPort("halt")), 5000);
            refused.setSoTimeout(10_000);
            assertEndsAbruptly(refused.getInputStream());
        } catch (IOException e) {
            assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("reset"), e.toString());
        }
        Future<Message<Buffer>> bus = node.vertx.eventBus().request(Addresses.request("halt"), Buffer.buffer("x"));
        Throwable t = assertThrows(Throwable.class, () -> TestNode.await(bus));
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        assertEquals(EventBusIngress.UNAVAILABLE, assertInstanceOf(ReplyException.class, t).failureCode());

        JsonObject halt = app(node.status(), "halt");
        assertEquals("stopped", halt.getString("state"));
        assertEquals("trap: unreachable (stand-in)", halt.getString("stoppedReason"));
        assertEquals(0, halt.getInteger("connections"));
        assertTrue(halt.getLong("refused") >= 3, halt.encode());
        assertTrue(node.log.toString().contains("halt: stopped: trap: unreachable (stand-in)"), node.log.toString());
        assertEquals(200, node.get("/web/still-fine").statusCode(), "other apps keep running");
    }

    @Test
    void port_in_use_is_a_clear_error() {
        GatewayConfig clash = GatewayConfig.of(9, "127.0.0.1",
                List.of(GatewayConfig.App.of("other", List.of("main")).withTcp(node.tcpPort("echo"), "main"))).withHttpPort(0);
        Throwable t = assertThrows(Throwable.class, () -> TestNode.await(node.vertx.deployVerticle(new GatewayVerticle(clash))));
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        ListenException e = assertInstanceOf(ListenException.class, t);
        assertTrue(e.getMessage().startsWith("cannot listen on tcp 127.0.0.1:" + node.tcpPort("echo") + " for app 'other'"
                + " listener 'main': the port is in use"), e.getMessage());
    }

    /** The connection was reset or closed by the gateway without data. */
    private static void assertEndsAbruptly(InputStream in) {
        try {
            assertEquals(-1, in.read());
        } catch (IOException e) {
            assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("reset"), e.toString());
        }
    }

    private static JsonObject app(JsonObject status, String name) {
        JsonArray apps = status.getJsonArray("apps");
        for (int i = 0; i < apps.size(); i++) {
            if (apps.getJsonObject(i).getString("name").equals(name)) {
                return apps.getJsonObject(i);
            }
        }
        throw new AssertionError("no app " + name + " in " + apps.encode());
    }
}
