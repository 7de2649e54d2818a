package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.gateway.eventbus.EventBusIngress;
import io.replicode.nat.Addresses;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Request/reply on replicode.app.<app>.request, from another component on the event bus. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayEventBusTest {
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

    private static Buffer request(String app, Object body, DeliveryOptions options) {
        Future<Message<Buffer>> reply = node.vertx.eventBus().request(Addresses.request(app), body,
                options.setSendTimeout(15_000));
        return TestNode.await(reply).body();
    }

    private static ReplyException failure(String app, Object body, DeliveryOptions options) {
        Future<Message<Buffer>> reply = node.vertx.eventBus().request(Addresses.request(app), body,
                options.setSendTimeout(15_000));
        Throwable t = assertThrows(Throwable.class, () -> TestNode.await(reply));
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return assertInstanceOf(ReplyException.class, t);
    }

    @Test
    void echo_replies_with_the_body() {
        Buffer reply = request("echo", Buffer.buffer("ping"), new DeliveryOptions());
        assertEquals("ping", reply.toString(StandardCharsets.UTF_8));
    }

    @Test
    void a_request_the_guest_answered_and_closed_gets_no_window_grant() {
        long windowsBefore = node.pipeline.count("echo", io.replicode.nat.IngressEvent.Window.class);
        long opensBefore = node.pipeline.count("echo", io.replicode.nat.IngressEvent.Open.class);
        for (int i = 0; i < 5; i++) {
            assertEquals("ping" + i, request("echo", Buffer.buffer("ping" + i), new DeliveryOptions()).toString(StandardCharsets.UTF_8));
        }
        // The gateway sends in order: once the app has this last request's Open, it has every earlier event.
        assertEquals("last", request("echo", Buffer.buffer("last"), new DeliveryOptions()).toString(StandardCharsets.UTF_8));
        assertEquals(opensBefore + 6, node.pipeline.count("echo", io.replicode.nat.IngressEvent.Open.class));
        assertEquals(windowsBefore, node.pipeline.count("echo", io.replicode.nat.IngressEvent.Window.class));
    }

    @Test
    void body_larger_than_the_guest_window_comes_back_whole() {
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        assertArrayEquals(data, request("echo", Buffer.buffer(data), new DeliveryOptions()).getBytes());
    }

    @Test
    void listener_header_chooses_the_listener() {
        Buffer reply = request("halt", Buffer.buffer("GET /via-bus HTTP/1.1\r\nHost: x\r\n\r\n"),
                new DeliveryOptions().addHeader(EventBusIngress.LISTENER_HEADER, "http"));
        assertTrue(reply.toString(StandardCharsets.UTF_8).endsWith("GET /via-bus 0 "), reply.toString());
    }

    @Test
    void unknown_listener_fails_with_404() {
        ReplyException e = failure("echo", Buffer.buffer("x"), new DeliveryOptions().addHeader("listener", "nope"));
        assertEquals(EventBusIngress.NO_SUCH_LISTENER, e.failureCode());
        assertTrue(e.getMessage().contains("no listener 'nope'"), e.getMessage());
    }

    @Test
    void body_of_the_wrong_type_fails_with_400() {
        ReplyException e = failure("echo", new io.vertx.core.json.JsonObject(), new DeliveryOptions());
        assertEquals(EventBusIngress.BAD_REQUEST, e.failureCode());
    }

    @Test
    void app_reset_fails_with_502() {
        ReplyException e = failure("web", Buffer.buffer("GET /reset HTTP/1.1\r\n\r\n"), new DeliveryOptions());
        assertEquals(EventBusIngress.RESET, e.failureCode());
    }

    @Test
    void silent_app_fails_with_504_after_the_timeout() {
        ReplyException e = failure("web", Buffer.buffer("POST /x HTTP/1.1\r\n\r\nSILENT"), new DeliveryOptions());
        assertEquals(EventBusIngress.TIMEOUT, e.failureCode());
        assertTrue(e.getMessage().contains("did not close the connection within " + TestNode.TIMEOUT_MS + " ms"), e.getMessage());
    }

    @Test
    void string_body_is_sent_as_utf8() {
        assertEquals("héllo", request("echo", "héllo", new DeliveryOptions()).toString(StandardCharsets.UTF_8));
    }

    @Test
    void the_reply_text_header_answers_with_a_string_as_a_json_client_over_the_bridge_needs() {
        Future<Message<Object>> reply = node.vertx.eventBus().request(Addresses.request("echo"), "héllo",
                new DeliveryOptions().addHeader(EventBusIngress.REPLY_HEADER, EventBusIngress.TEXT_REPLY).setSendTimeout(15_000));
        assertEquals("héllo", TestNode.await(reply).body());
    }
}
