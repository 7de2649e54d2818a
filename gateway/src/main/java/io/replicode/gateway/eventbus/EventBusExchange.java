package io.replicode.gateway.eventbus;

import io.replicode.gateway.routing.GuestStream;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.IngressEvent;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;

/**
 * One event-bus request on its own virtual connection: the body goes to the guest within its receive
 * window, followed by the end of input; every byte the guest writes is collected (and granted back at
 * once, up to the app's reply limit) until it closes the connection, then sent as the reply.
 */
final class EventBusExchange extends GuestStream {
    private final Message<Object> message;
    private final Vertx vertx;
    private final long maxReplyBytes;
    private final long timeoutMs;
    private final Buffer reply = Buffer.buffer();
    private long timer = -1;
    private boolean done;

    EventBusExchange(long id, String app, Message<Object> message, Switchboard switchboard, Vertx vertx,
                     int receiveBufferBytes, long sendWindowBytes, long maxReplyBytes, long timeoutMs) {
        super(id, app, switchboard, receiveBufferBytes, sendWindowBytes);
        this.message = message;
        this.vertx = vertx;
        this.maxReplyBytes = maxReplyBytes;
        this.timeoutMs = timeoutMs;
    }

    /** Sends the body and the end of input; call once the connection is open (after its Open event). */
    /** Whether the answer goes back as a String (the request's {@code reply: text} header). */
    private boolean text;

    /** As {@link #start(byte[])}; with {@code text} the answer is a String (UTF-8), not a Buffer. */
    void start(byte[] body, boolean text) {
        this.text = text;
        start(body);
    }

    void start(byte[] body) {
        inbound.data(body);
        inbound.end();
        timer = vertx.setTimer(timeoutMs, t -> {
            timer = -1;
            if (!done) {
                fail(EventBusIngress.TIMEOUT, "app '" + app + "' did not close the connection within " + timeoutMs
                        + " ms (" + reply.length() + " reply bytes so far)");
                switchboard.emit(app, new IngressEvent.Reset(id));
                finish();
            }
        });
    }

    @Override
    public void guestSent(byte[] bytes) {
        if (done) {
            return;
        }
        if (reply.length() + (long) bytes.length > maxReplyBytes) {
            fail(EventBusIngress.TOO_LARGE, "app '" + app + "' replied with more than " + maxReplyBytes
                    + " bytes (the app's maxReplyBytes)");
            switchboard.emit(app, new IngressEvent.Reset(id));
            finish();
            return;
        }
        if (!admitSent(bytes.length)) {
            return;
        }
        reply.appendBytes(bytes);
        // Collected at once: the reply is bounded by maxReplyBytes, and the window is granted straight back.
        delivered(bytes.length, true);
    }

    @Override
    public void guestClosed() {
        guestFinishedSending();
        if (done) {
            return;
        }
        message.reply(text ? reply.toString(java.nio.charset.StandardCharsets.UTF_8) : reply);
        if (!inbound.endDelivered()) {
            switchboard.emit(app, new IngressEvent.Reset(id));
        }
        finish();
    }

    @Override
    public void guestReset() {
        if (!done) {
            fail(EventBusIngress.RESET, "app '" + app + "' reset the connection (" + reply.length()
                    + " reply bytes before the reset)");
            finish();
        }
    }

    @Override
    public void guestConsumed(int bytes) {
        admitConsumed(bytes);
    }

    @Override
    public void abort(String reason) {
        if (!done) {
            fail(EventBusIngress.UNAVAILABLE, reason);
            done = true;
            cleanUp();
        }
    }

    private void fail(int code, String why) {
        message.fail(code, why);
    }

    private void finish() {
        if (!done) {
            done = true;
            switchboard.finished(id);
            cleanUp();
        }
    }

    private void cleanUp() {
        if (timer != -1) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        inbound.discard();
    }

}
