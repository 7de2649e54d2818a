package io.replicode.gateway.eventbus;

import io.replicode.gateway.routing.InboundWindow;
import io.replicode.gateway.routing.Peer;
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
final class EventBusExchange implements Peer {
    private final long id;
    private final String app;
    private final Message<Object> message;
    private final Switchboard switchboard;
    private final Vertx vertx;
    private final long maxReplyBytes;
    private final long timeoutMs;
    private final InboundWindow inbound;
    private final Buffer reply = Buffer.buffer();
    private long timer = -1;
    private boolean done;

    EventBusExchange(long id, String app, Message<Object> message, Switchboard switchboard, Vertx vertx,
                     int receiveBufferBytes, long maxReplyBytes, long timeoutMs) {
        this.id = id;
        this.app = app;
        this.message = message;
        this.switchboard = switchboard;
        this.vertx = vertx;
        this.maxReplyBytes = maxReplyBytes;
        this.timeoutMs = timeoutMs;
        this.inbound = new InboundWindow(id, receiveBufferBytes, e -> switchboard.emit(app, e));
    }

    /** Sends the body and the end of input; call once the connection is open (after its Open event). */
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
        reply.appendBytes(bytes);
        // The reply is bounded by maxReplyBytes, not by the send window: the guest may go on writing.
        switchboard.emit(app, new IngressEvent.Window(id, bytes.length));
    }

    @Override
    public void guestClosed() {
        if (done) {
            return;
        }
        message.reply(reply);
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
        if (!inbound.consumed(bytes)) {
            switchboard.violation(app, id, "the guest consumed " + bytes + " bytes with only "
                    + inbound.inFlightBytes() + " in flight");
        }
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

    @Override
    public long heldFromClient() {
        return inbound.heldBytes();
    }

    @Override
    public int inFlightToGuest() {
        return inbound.inFlightBytes();
    }

    @Override
    public long pendingToClient() {
        return 0;
    }
}
