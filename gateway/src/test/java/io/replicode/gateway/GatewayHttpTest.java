package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** HTTP at /<app>/... through the gateway to the stand-in HTTP apps, with java.net.http and raw sockets. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayHttpTest {
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

    private static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return node.http.send(b.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void get_reaches_the_app_without_its_prefix_and_with_connection_close() throws Exception {
        HttpResponse<String> r = node.get("/web/hello/there?x=1&y=%20");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("GET /hello/there?x=1&y=%20 0 close", r.body());
        assertEquals("web", r.headers().firstValue("X-Stand-In").orElse(null));
        assertEquals("GET / 0 close", node.get("/web").body());
    }

    @Test
    void keep_alive_carries_many_requests_each_on_a_fresh_virtual_connection() throws Exception {
        long opensBefore = node.pipeline.count("web", IngressEvent.Open.class);
        for (int i = 0; i < 20; i++) {
            assertEquals("GET /n" + i + " 0 close", node.get("/web/n" + i).body());
        }
        assertEquals(opensBefore + 20, node.pipeline.count("web", IngressEvent.Open.class));
    }

    @Test
    void a_guest_that_answered_and_closed_gets_no_window_grant_for_that_connection() throws Exception {
        long windowsBefore = node.pipeline.count("web", IngressEvent.Window.class);
        long opensBefore = node.pipeline.count("web", IngressEvent.Open.class);
        // The stand-in answers and closes in one output batch: a grant for its answer would reach a closed connection.
        for (int i = 0; i < 10; i++) {
            assertEquals("GET /w" + i + " 0 close", node.get("/web/w" + i).body());
        }
        // The gateway sends in order: once the app has this last request's Open, it has every earlier event.
        assertEquals("GET /last 0 close", node.get("/web/last").body());
        assertEquals(opensBefore + 11, node.pipeline.count("web", IngressEvent.Open.class));
        assertEquals(windowsBefore, node.pipeline.count("web", IngressEvent.Window.class));
    }

    @Test
    void put_body_is_streamed_to_the_app() throws Exception {
        String body = "v".repeat(100_000);
        HttpResponse<String> r = send(HttpRequest.newBuilder(node.uri("/web/key")).PUT(HttpRequest.BodyPublishers.ofString(body)));
        assertEquals("PUT /key 100000 close", r.body());
    }

    @Test
    void chunked_body_larger_than_the_guest_window_flows_in_pieces() throws Exception {
        byte[] body = new byte[900_000];
        java.util.Arrays.fill(body, (byte) 'a');
        // An InputStream publisher has no length: the client sends it chunked.
        HttpResponse<String> r = send(HttpRequest.newBuilder(node.uri("/web/upload"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("POST /upload 900000 close", r.body());
    }

    @Test
    void large_response_flows_within_the_send_window() throws Exception {
        int n = 3 << 20;
        HttpResponse<InputStream> r = node.http.send(HttpRequest.newBuilder(node.uri("/web/big?n=" + n))
                .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertEquals(String.valueOf(n), r.headers().firstValue("Content-Length").orElse(null));
        try (InputStream in = r.body()) {
            byte[] all = in.readAllBytes();
            assertEquals(n, all.length);
            assertEquals('x', all[n - 1]);
        }
    }

    @Test
    void chunked_response_is_streamed_with_its_status_and_headers() throws Exception {
        HttpResponse<String> r = node.get("/web/chunked");
        assertEquals(201, r.statusCode());
        assertEquals("chunked", r.headers().firstValue("X-Kind").orElse(null));
        assertEquals("hello world", r.body());
    }

    @Test
    void response_delimited_by_the_guest_closing_ends_there() throws Exception {
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = node.get("/web/until-close");
            assertEquals(200, r.statusCode());
            assertEquals("the body ends with the connection", r.body());
        }
    }

    @Test
    void head_has_headers_but_no_body() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(node.uri("/web/k")).method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, r.statusCode());
        assertEquals("", r.body());
        assertEquals("HEAD /k 0 close".length(), Integer.parseInt(r.headers().firstValue("Content-Length").orElse("-1")));
    }

    @Test
    void unknown_app_is_404_json() throws Exception {
        HttpResponse<String> r = node.get("/nope/x");
        assertEquals(404, r.statusCode());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(null));
        JsonObject body = new JsonObject(r.body());
        assertEquals("no app 'nope' at this gateway", body.getString("error"));
        assertTrue(body.getJsonArray("apps").contains("web"));
        assertEquals(404, node.get("/echo/x").statusCode(), "echo has no HTTP listener");
    }

    @Test
    void declared_body_over_the_limit_is_413_and_nothing_reaches_the_app() throws Exception {
        long opensBefore = node.pipeline.count("web", IngressEvent.Open.class);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", node.gateway.httpPort()), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("PUT /web/huge HTTP/1.1\r\nHost: x\r\nContent-Length: " + (TestNode.WEB_MAX_BODY + 1) + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            assertTrue(response.contains("maxRequestBodyBytes"), response);
        }
        assertEquals(opensBefore, node.pipeline.count("web", IngressEvent.Open.class));
    }

    @Test
    void invalid_response_from_the_app_is_502() throws Exception {
        HttpResponse<String> r = node.get("/web/garbage");
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("invalid HTTP response"), r.body());
    }

    @Test
    void app_reset_is_502() throws Exception {
        HttpResponse<String> r = node.get("/web/reset");
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("reset the connection"), r.body());
    }

    @Test
    void silent_app_is_504_after_the_timeout_and_its_connection_reset() throws Exception {
        long resetsBefore = node.pipeline.count("web", IngressEvent.Reset.class);
        HttpResponse<String> r = send(HttpRequest.newBuilder(node.uri("/web/wait")).POST(HttpRequest.BodyPublishers.ofString("SILENT")));
        assertEquals(504, r.statusCode());
        TestNode.eventually("the app saw a reset", () -> node.pipeline.count("web", IngressEvent.Reset.class) > resetsBefore);
    }

    @Test
    void client_that_leaves_mid_request_resets_the_guest_connection() throws Exception {
        long resetsBefore = node.pipeline.count("web", IngressEvent.Reset.class);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", node.gateway.httpPort()), 5000);
            s.getOutputStream().write("PUT /web/partial HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly some"
                    .getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            TestNode.eventually("the app saw the request open", () -> node.pipeline.received.get("web").stream()
                    .anyMatch(e -> e instanceof IngressEvent.Data d && new String(d.bytes(), StandardCharsets.ISO_8859_1).contains("only some")));
            s.setSoLinger(true, 0);
        }
        TestNode.eventually("the app saw a reset", () -> node.pipeline.count("web", IngressEvent.Reset.class) > resetsBefore);
    }
}
