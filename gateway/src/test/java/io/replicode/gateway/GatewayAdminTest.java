package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
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

/**
 * The admin API's answers to requests it cannot take, before anything reaches a node: malformed upgrade and scale
 * requests (400, 411, 413), an unknown app (404), and a gateway with no node behind it to check upgrades or scale
 * (501). Each answer is JSON with the error and a fix.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayAdminTest {
    static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static HttpResponse<String> post(String path, byte[] body) throws Exception {
        return node.http.send(HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(15))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonObject json(HttpResponse<String> r) {
        JsonObject j = new JsonObject(r.body());
        assertTrue(j.containsKey("error") && j.containsKey("fix"), "an error with a fix: " + r.body());
        return j;
    }

    private static final byte[] MODULE = {0, 'a', 's', 'm', 1, 0, 0, 0};

    @Test
    void a_grace_or_canary_window_out_of_range_is_400_naming_the_parameter() throws Exception {
        HttpResponse<String> r = post("/admin/apps/web/upgrade?graceFrames=0", MODULE);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(json(r).getString("error").startsWith("graceFrames must be 1.."), r.body());
        r = post("/admin/apps/web/upgrade?graceFrames=many", MODULE);
        assertEquals(400, r.statusCode(), r.body());
        r = post("/admin/apps/web/upgrade?canaryFrames=-5", MODULE);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(json(r).getString("error").contains("canaryFrames must be a positive number, got '-5'"), r.body());
    }

    @Test
    void an_upgrade_without_a_content_length_is_411_and_one_over_64_mib_is_413_before_its_body_is_read() throws Exception {
        String chunked = raw("POST /admin/apps/web/upgrade HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "8\r\n\0asm\1\0\0\0\r\n0\r\n\r\n");
        assertTrue(chunked.startsWith("HTTP/1.1 411"), chunked);
        assertTrue(chunked.contains("Content-Length of at most " + GatewayVerticle.MAX_MODULE_BYTES), chunked);
        // Only the head is sent: the answer must come without waiting for 64 MiB.
        String huge = raw("POST /admin/apps/web/upgrade HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + (GatewayVerticle.MAX_MODULE_BYTES + 1) + "\r\n\r\n");
        assertTrue(huge.startsWith("HTTP/1.1 413"), huge);
        assertTrue(huge.contains("POST the .wasm file as the request body"), huge);
    }

    @Test
    void a_well_formed_upgrade_or_scale_with_no_node_behind_the_gateway_is_501() throws Exception {
        HttpResponse<String> r = post("/admin/apps/web/upgrade", MODULE);
        assertEquals(501, r.statusCode(), r.body());
        assertTrue(json(r).getString("error").contains("runs a gateway only"), r.body());
        r = post("/admin/apps/web/scale?replicas=2", new byte[0]);
        assertEquals(501, r.statusCode(), r.body());
        assertTrue(json(r).getString("fix").contains("runs the app's replicas"), r.body());
    }

    @Test
    void a_scale_count_that_is_not_a_number_is_400_and_an_unknown_app_is_404() throws Exception {
        HttpResponse<String> r = post("/admin/apps/web/scale?replicas=three", new byte[0]);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(json(r).getString("error").contains("replicas must be a number, got 'three'"), r.body());
        r = post("/admin/apps/nosuch/upgrade", MODULE);
        assertEquals(404, r.statusCode(), r.body());
        assertTrue(json(r).getString("error").contains("no app 'nosuch'"), r.body());
    }

    /** Sends {@code request} on a raw connection and returns the response's head and its Content-Length body. */
    private static String raw(String request) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", node.gateway.httpPort()), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int length = -1;
            int headEnd = -1;
            while (headEnd < 0 || got.size() < headEnd + length) {
                int b = in.read();
                if (b < 0) {
                    break;
                }
                got.write(b);
                String text = got.toString(StandardCharsets.ISO_8859_1);
                if (headEnd < 0 && text.endsWith("\r\n\r\n")) {
                    headEnd = text.length();
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *([0-9]+)").matcher(text);
                    length = m.find() ? Integer.parseInt(m.group(1)) : 0;
                }
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
