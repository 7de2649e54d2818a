package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The graceful half of a stop ({@link GatewayVerticle#drain}): once it begins, new requests are refused with the reason
 * and {@code /ready} turns 503 while {@code /health} stays up; it ends as soon as no request is in flight, or at its
 * bound with the requests still waiting counted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayDrainTest {
    @Test
    void a_drain_refuses_new_requests_and_waits_for_the_ones_in_flight_up_to_its_bound() throws Exception {
        try (TestNode node = new TestNode(c -> c.withRequestTimeoutMs(20_000))) {
            assertEquals(200, node.get("/ready").statusCode());
            assertEquals(0, TestNode.await(node.gateway.drain(5_000)), "nothing in flight: the drain ends at once");
        }
        try (TestNode node = new TestNode(c -> c.withRequestTimeoutMs(20_000))) {
            // A request the app never answers: in flight until the bound.
            CompletableFuture<HttpResponse<String>> waiting = node.http.sendAsync(HttpRequest.newBuilder(node.uri("/web/slow"))
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString("SILENT")).build(),
                    HttpResponse.BodyHandlers.ofString());
            TestNode.eventually("the request is in flight", () -> TestNode.await(node.gateway.status())
                    .getJsonObject("connections").getInteger("open") == 1);
            var drained = node.gateway.drain(700);
            HttpResponse<String> refused = node.get("/web/new");
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("the node is stopping"), refused.body());
            HttpResponse<String> ready = node.get("/ready");
            assertEquals(503, ready.statusCode(), ready.body());
            assertEquals("NOT_READY", new JsonObject(ready.body()).getString("status"));
            assertEquals(200, node.get("/health").statusCode(), "alive while it drains");
            assertEquals(1, TestNode.await(drained), "the unanswered request is still in flight at the bound");
            assertTrue(!waiting.isDone() || waiting.get().statusCode() != 200);
        }
    }
}
