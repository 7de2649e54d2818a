package io.replicode.gateway.tcp;

import io.replicode.gateway.limits.IdleTimer;
import io.replicode.gateway.limits.Reason;
import io.replicode.gateway.routing.InboundWindow;
import io.replicode.gateway.routing.GuestStream;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.IngressEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;

/**
 * One client TCP connection and its virtual connection: socket activity becomes ingress events, and the
 * guest's outputs for this connection become socket writes.
 *
 * <p>Flow control both ways keeps every buffer bounded:
 * <ul>
 *   <li>client to guest: at most the guest's receive buffer is in flight ({@link InboundWindow}); while
 *       more is held, the socket is not read, so a client that sends faster than the guest reads is
 *       paused by TCP itself;</li>
 *   <li>guest to client: the guest may run its send window ahead; each write is granted back with a
 *       window event once it left the socket's queue, so a slow reader stalls the guest, not the gateway's
 *       memory.</li>
 * </ul>
 * The client's FIN reaches the guest (as a half-close) only after every byte before it, and the socket is
 * closed once both sides have sent FIN. Once the guest sent its FIN the socket is read again whatever the
 * window, so the client's FIN or reset is seen and the connection released; input beyond the window is then
 * dropped and counted (the guest will most likely never read it: it closed). A connection on which no byte
 * moved either way for the app's idle timeout is reset. Every method runs on the gateway's event loop.
 */
final class TcpConnection extends GuestStream {
    private final NetSocket socket;
    private final TcpControl control;
    private final IdleTimer idle;
    private Future<Void> lastWrite = Future.succeededFuture();
    private boolean clientFin;
    private boolean guestFin;
    /** The gateway closed (or reset) the socket: its closing is no news to the guest. */
    private boolean closedByGateway;

    TcpConnection(long id, String app, NetSocket socket, TcpControl control, int receiveBufferBytes,
                  long sendWindowBytes, long idleTimeoutMs, Vertx vertx, Switchboard switchboard) {
        super(id, app, switchboard, receiveBufferBytes, sendWindowBytes);
        this.socket = socket;
        this.control = control;
        this.idle = new IdleTimer(vertx, idleTimeoutMs, this::onIdle);
        control.onInputShutdown(this::onClientFin);
        socket.handler(this::onClientData);
        socket.closeHandler(v -> onSocketClosed());
        // An I/O error (e.g. the client reset the connection) is followed by the close handler.
        socket.exceptionHandler(t -> { });
    }

    // ---- client side ----

    private void onClientData(Buffer buffer) {
        if (closedByGateway || clientFin) {
            return;
        }
        if (guestFin && !inbound.accepting()) {
            // The guest closed and its window is full: nothing will read this.
            switchboard.discarded(app, buffer.length());
            return;
        }
        idle.touch();
        inbound.data(buffer.getBytes());
        control.reading(guestFin || inbound.accepting());
    }

    private void onClientFin() {
        if (closedByGateway || clientFin) {
            return;
        }
        clientFin = true;
        switchboard.clientFinished(id);
        idle.touch();
        inbound.end();
        closeIfBothFinished();
    }

    private void onSocketClosed() {
        idle.cancel();
        if (!closedByGateway) {
            // The client went away (RST, or an error) before both sides finished: the guest sees a reset.
            closedByGateway = true;
            discardInbound();
            switchboard.emit(app, new IngressEvent.Reset(id));
            switchboard.finished(id);
        }
    }

    private void onIdle() {
        if (closedByGateway) {
            // Closing waits for the guest's last bytes, which a client that reads nothing never takes.
            control.reset();
        } else {
            switchboard.count(app, Reason.IDLE_TIMEOUT);
            closedByGateway = true;
            discardInbound();
            switchboard.emit(app, new IngressEvent.Reset(id));
            switchboard.finished(id);
            control.reset();
        }
    }

    // ---- guest side ----

    @Override
    public void guestSent(byte[] bytes) {
        int n = bytes.length;
        if (!admitSent(n) || closedByGateway) {
            return;
        }
        idle.touch();
        lastWrite = socket.write(Buffer.buffer(bytes));
        lastWrite.onSuccess(v -> {
            idle.touch();
            delivered(n, !closedByGateway);
        });
    }

    @Override
    public void guestClosed() {
        guestFin = true;
        guestFinishedSending();
        if (closeIfBothFinished()) {
            return;
        }
        if (!closedByGateway) {
            // Read on, so the client's FIN or reset is seen even when the window stays full.
            control.reading(true);
        }
        lastWrite.onComplete(ar -> {
            if (!closedByGateway) {
                control.shutdownOutput();
            }
        });
    }

    @Override
    public void guestConsumed(int bytes) {
        if (admitConsumed(bytes) && !closedByGateway) {
            control.reading(guestFin || inbound.accepting());
        }
    }

    @Override
    public void guestReset() {
        if (!closedByGateway) {
            closedByGateway = true;
            discardInbound();
            control.reset();
        }
        switchboard.finished(id);
    }

    @Override
    public void abort(String reason) {
        if (!closedByGateway) {
            closedByGateway = true;
            discardInbound();
            control.reset();
        }
    }

    /** Once both sides sent FIN the socket is closed, after the guest's last bytes are written. */
    private boolean closeIfBothFinished() {
        if (!(clientFin && guestFin) || closedByGateway) {
            return false;
        }
        closedByGateway = true;
        if (!inbound.endDelivered()) {
            // The guest finished before reading all the client sent: like TCP closing with unread input.
            discardInbound();
            switchboard.emit(app, new IngressEvent.Reset(id));
        }
        switchboard.finished(id);
        lastWrite.onComplete(ar -> socket.close());
        return true;
    }
}
