package io.replicode.gateway.eventbus;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.Addresses;
import io.replicode.nat.NatTable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Event-bus ingress: a request to {@link Addresses#request} of an app opens a fresh virtual connection to
 * the listener named in the {@value #LISTENER_HEADER} header (default: the app's first), sends the body,
 * closes the sending side, and replies with every byte the guest writes until it closes the connection
 * ({@link EventBusExchange}). A failed request is failed with one of the codes below and a message that
 * says what happened.
 */
public final class EventBusIngress {
    /**
     * Message header asking for the answer as a String ({@value #TEXT_REPLY}, UTF-8) instead of a Buffer: what a JSON
     * client over the TCP bridge reads (a Buffer would reach it base64-encoded).
     */
    public static final String REPLY_HEADER = "reply";
    public static final String TEXT_REPLY = "text";

    /** Message header naming the guest listener. */
    public static final String LISTENER_HEADER = "listener";

    /** The body is not a Buffer, byte[] or String. */
    public static final int BAD_REQUEST = 400;
    /** The app has no listener of the name given. */
    public static final int NO_SUCH_LISTENER = 404;
    /** The request body or the guest's reply exceeds the app's limit. */
    public static final int TOO_LARGE = 413;
    /** The guest reset the connection (or refused it). */
    public static final int RESET = 502;
    /** The app stopped, has too many connections, or the gateway is stopping. */
    public static final int UNAVAILABLE = 503;
    /** The guest did not close the connection within the gateway's request timeout. */
    public static final int TIMEOUT = 504;

    private final Vertx vertx;
    private final Switchboard switchboard;
    private final List<MessageConsumer<Object>> consumers = new ArrayList<>();

    public EventBusIngress(Vertx vertx, Switchboard switchboard) {
        this.vertx = vertx;
        this.switchboard = switchboard;
    }

    /** Registers a consumer for every app; completes when all are registered. */
    public Future<Void> register() {
        List<Future<Void>> done = new ArrayList<>();
        for (GatewayConfig.App app : switchboard.config().apps()) {
            MessageConsumer<Object> c = vertx.eventBus().consumer(Addresses.request(app.name()), m -> onRequest(app, m));
            consumers.add(c);
            done.add(c.completion());
        }
        return Future.all(done).mapEmpty();
    }

    public Future<Void> unregister() {
        List<Future<Void>> done = new ArrayList<>();
        consumers.forEach(c -> done.add(c.unregister()));
        return Future.join(done).mapEmpty();
    }

    private void onRequest(GatewayConfig.App app, Message<Object> message) {
        byte[] body = bytes(message.body());
        if (body == null) {
            message.fail(BAD_REQUEST, "request to app '" + app.name() + "': the body must be a Buffer, byte[] or String, not "
                    + (message.body() == null ? "null" : message.body().getClass().getName()));
            return;
        }
        String listener = message.headers().get(LISTENER_HEADER);
        if (listener == null) {
            listener = app.listeners().get(0);
        } else if (!app.listeners().contains(listener)) {
            message.fail(NO_SUCH_LISTENER, "app '" + app.name() + "' has no listener '" + listener + "'; it has "
                    + app.listeners());
            return;
        }
        if (body.length > app.limits().maxRequestBodyBytes()) {
            message.fail(TOO_LARGE, "request to app '" + app.name() + "' of " + body.length + " bytes is larger than "
                    + app.limits().maxRequestBodyBytes() + " bytes (the app's maxRequestBodyBytes)");
            return;
        }
        io.replicode.gateway.limits.Refusal refusal = switchboard.admit(app.name(), null);
        if (refusal != null) {
            switchboard.count(app.name(), refusal.reason());
            message.fail(UNAVAILABLE, refusal.message());
            return;
        }
        GatewayConfig.Limits limits = app.limits();
        NatTable.Mapping<?> m = switchboard.open(app.name(), listener, NatTable.Kind.EVENT_BUS,
                "event bus " + Addresses.request(app.name()) + (message.replyAddress() == null ? "" : " reply " + message.replyAddress()),
                id -> new EventBusExchange(id, app.name(), message, switchboard, vertx, limits.receiveBufferBytes(), limits.sendWindowBytes(),
                        limits.maxReplyBytes(), switchboard.config().requestTimeoutMs()));
        ((EventBusExchange) m.peer()).start(body, TEXT_REPLY.equals(message.headers().get(REPLY_HEADER)));
    }

    private static byte[] bytes(Object body) {
        if (body instanceof Buffer b) {
            return b.getBytes();
        }
        if (body instanceof byte[] b) {
            return b;
        }
        if (body instanceof String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        return null;
    }
}
