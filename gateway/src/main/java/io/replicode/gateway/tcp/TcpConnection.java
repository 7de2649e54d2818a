package io.replicode.gateway.tcp;

import io.replicode.gateway.routing.InboundWindow;
import io.replicode.gateway.routing.GuestStream;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.IngressEvent;
import io.vertx.core.Future;
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
 * closed once both sides have sent FIN. Every method runs on the gateway's event loop.
 */
final class TcpConnection extends GuestStream {
    private final NetSocket socket;
    private final TcpControl control;
    private Future<Void> lastWrite = Future.succeededFuture();
    private boolean clientFin;
    private boolean guestFin;
    /** The gateway closed (or reset) the socket: its closing is no news to the guest. */
    private boolean closedByGateway;

    TcpConnection(long id, String app, NetSocket socket, int receiveBufferBytes, long sendWindowBytes,
                  Switchboard switchboard) {
        super(id, app, switchboard, receiveBufferBytes, sendWindowBytes);
        this.socket = socket;
        this.control = new TcpControl(socket, this::onClientFin);
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
        inbound.data(buffer.getBytes());
        control.reading(inbound.accepting());
    }

    private void onClientFin() {
        if (closedByGateway || clientFin) {
            return;
        }
        clientFin = true;
        inbound.end();
        closeIfBothFinished();
    }

    private void onSocketClosed() {
        if (!closedByGateway) {
            // The client went away (RST, or an error) before both sides finished: the guest sees a reset.
            closedByGateway = true;
            inbound.discard();
            switchboard.emit(app, new IngressEvent.Reset(id));
            switchboard.finished(id);
        }
    }

    // ---- guest side ----

    @Override
    public void guestSent(byte[] bytes) {
        int n = bytes.length;
        if (!admitSent(n) || closedByGateway) {
            return;
        }
        lastWrite = socket.write(Buffer.buffer(bytes));
        lastWrite.onSuccess(v -> delivered(n, !closedByGateway));
    }

    @Override
    public void guestClosed() {
        guestFin = true;
        if (closeIfBothFinished()) {
            return;
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
            control.reading(inbound.accepting());
        }
    }

    @Override
    public void guestReset() {
        if (!closedByGateway) {
            closedByGateway = true;
            inbound.discard();
            control.reset();
        }
        switchboard.finished(id);
    }

    @Override
    public void abort(String reason) {
        if (!closedByGateway) {
            closedByGateway = true;
            inbound.discard();
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
            inbound.discard();
            switchboard.emit(app, new IngressEvent.Reset(id));
        }
        switchboard.finished(id);
        lastWrite.onComplete(ar -> socket.close());
        return true;
    }
}
