package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** HTTP through the gateway to a real guest that speaks HTTP: the image server (skipped until it is built). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayGuestHttpTest {
    static TestNode node;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(PipelineStandIn.wasm("image_server") != null, "image_server.wasm is not built yet");
        GatewayConfig config = GatewayConfig.of(TestNode.GATEWAY, "127.0.0.1",
                        List.of(GatewayConfig.App.of("image", List.of("http", "files")).withLimits(TestNode.LIMITS)))
                .withHttpPort(0).withRequestTimeoutMs(10_000);
        node = new TestNode(config, Map.of("image", new PipelineStandIn.Guest("image_server", List.of("http", "files"))),
                List.of());
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
            assertEquals(List.of(), node.pipeline.problems);
        }
    }

    private static HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
        return node.http.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** A 2x1 PPM: one red and one green pixel. */
    private static byte[] ppm() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes("P6\n2 1\n255\n".getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(new byte[] {(byte) 255, 0, 0, 0, (byte) 255, 0});
        return b.toByteArray();
    }

    @Test
    void store_list_transform_and_delete_an_image() throws Exception {
        HttpResponse<byte[]> put = send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(ppm())));
        assertTrue(put.statusCode() == 201 || put.statusCode() == 200, put.statusCode() + " " + new String(put.body()));

        HttpResponse<byte[]> list = send(HttpRequest.newBuilder(node.uri("/image/images")));
        assertEquals(200, list.statusCode());
        JsonArray images = new JsonArray(new String(list.body(), StandardCharsets.UTF_8));
        assertTrue(images.encode().contains("\"dot.ppm\""), images.encode());

        HttpResponse<byte[]> stored = send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm")));
        assertArrayEquals(ppm(), stored.body());

        HttpResponse<byte[]> inverted = send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm?invert")));
        assertEquals(200, inverted.statusCode());
        byte[] px = inverted.body();
        assertArrayEquals(new byte[] {0, (byte) 255, (byte) 255, (byte) 255, 0, (byte) 255},
                java.util.Arrays.copyOfRange(px, px.length - 6, px.length));

        HttpResponse<byte[]> head = send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.statusCode());
        assertEquals(0, head.body().length);

        assertEquals(204, send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm")).DELETE()).statusCode());
        assertEquals(404, send(HttpRequest.newBuilder(node.uri("/image/images/dot.ppm"))).statusCode());
    }

    @Test
    void guest_errors_pass_through_with_their_status() throws Exception {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(node.uri("/image/images/bad.ppm"))
                .PUT(HttpRequest.BodyPublishers.ofString("not an image")));
        assertTrue(r.statusCode() == 400 || r.statusCode() == 415, r.statusCode() + " " + new String(r.body()));
    }
}
