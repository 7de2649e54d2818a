package io.replicode.launcher.local;

import io.replicode.nat.IngressEvent;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * One client TCP connection and its virtual connection in the guest: socket activity becomes ingress
 * events, and the guest's outputs for this connection become socket writes.
 *
 * <p>Flow control both ways keeps every buffer bounded:
 * <ul>
 *   <li>client to guest: at most the guest's receive buffer is in flight; further bytes wait here with
 *       reading paused until the guest's window outputs say it consumed some;</li>
 *   <li>guest to client: the guest may run its send window ahead; each write that reached the socket is
 *       granted back with a window event.</li>
 * </ul>
 * The client's FIN reaches the guest (as a half-close) only after every byte before it, and the socket is
 * closed once both sides have sent FIN. Every method runs on the app's event loop.
 */
final class TcpConnection {
    private final long id;
    private final NetSocket socket;
    private final int receiveBufferBytes;
    private final Consumer<IngressEvent> events;
    private final Runnable onFinished;
    private final TcpControl control;

    /** Client bytes the guest can still buffer. */
    private int receiveCredit;
    /** Client bytes that did not fit the guest's receive buffer yet, oldest first. */
    private final ArrayDeque<byte[]> held = new ArrayDeque<>();
    /** Stream offset of the guest's next output byte. */
    private long nextOffset;
    private Future<Void> lastWrite = Future.succeededFuture();
    private boolean clientFin;
    private boolean clientFinDelivered;
    private boolean guestFin;
    /** The node closed (or reset) the socket: its closing is no news to the guest. */
    private boolean closedByNode;
    private boolean finished;

    TcpConnection(long id, NetSocket socket, int receiveBufferBytes, Consumer<IngressEvent> events, Runnable onFinished) {
        this.id = id;
        this.socket = socket;
        this.receiveBufferBytes = receiveBufferBytes;
        this.receiveCredit = receiveBufferBytes;
        this.events = events;
        this.onFinished = onFinished;
        this.control = new TcpControl(socket, this::onClientFin);
        socket.handler(this::onClientData);
        socket.closeHandler(v -> onSocketClosed());
        // An I/O error (e.g. the client reset the connection) is followed by the close handler.
        socket.exceptionHandler(t -> { });
    }

    // ---- client side ----

    private void onClientData(Buffer buffer) {
        if (closedByNode) {
            return;
        }
        held.addLast(buffer.getBytes());
        deliverHeld();
    }

    private void onClientFin() {
        clientFin = true;
        deliverHeld();
        closeIfBothFinished();
    }

    private void onSocketClosed() {
        if (!closedByNode) {
            // The client went away (RST, or an error) before both sides finished: the guest sees a reset.
            held.clear();
            events.accept(new IngressEvent.Reset(id));
        }
        finished = true;
        onFinished.run();
    }

    /** Passes held client bytes to the guest as far as its receive buffer allows, then the FIN if due. */
    private void deliverHeld() {
        while (receiveCredit > 0 && !held.isEmpty()) {
            byte[] chunk = held.pollFirst();
            if (chunk.length > receiveCredit) {
                held.addFirst(Arrays.copyOfRange(chunk, receiveCredit, chunk.length));
                chunk = Arrays.copyOf(chunk, receiveCredit);
            }
            receiveCredit -= chunk.length;
            events.accept(new IngressEvent.Data(id, chunk));
        }
        control.reading(held.isEmpty());
        if (held.isEmpty() && clientFin && !clientFinDelivered) {
            clientFinDelivered = true;
            events.accept(new IngressEvent.HalfClose(id));
        }
    }

    // ---- guest side ----

    /** The guest sent {@code bytes} at stream offset {@code offset}. */
    void guestSent(long offset, byte[] bytes) {
        if (offset != nextOffset) {
            throw new IllegalStateException("connection " + id + ": guest output at offset " + offset
                    + ", expected " + nextOffset + "; outputs must line up");
        }
        nextOffset += bytes.length;
        if (closedByNode) {
            return;
        }
        int n = bytes.length;
        lastWrite = socket.write(Buffer.buffer(bytes));
        lastWrite.onSuccess(v -> {
            if (!closedByNode && !finished) {
                events.accept(new IngressEvent.Window(id, n));
            }
        });
    }

    /** The guest sent FIN after {@code offset} bytes. */
    void guestClosed(long offset) {
        if (offset != nextOffset) {
            throw new IllegalStateException("connection " + id + ": guest FIN at offset " + offset + ", expected "
                    + nextOffset + "; outputs must line up");
        }
        guestFin = true;
        if (closeIfBothFinished()) {
            return;
        }
        lastWrite.onComplete(ar -> {
            if (!closedByNode) {
                control.shutdownOutput();
            }
        });
    }

    /** The guest consumed {@code bytes} of input: that much more may be delivered. */
    void guestConsumed(int bytes) {
        receiveCredit += bytes;
        if (receiveCredit > receiveBufferBytes) {
            throw new IllegalStateException("connection " + id + ": guest consumed more than it was given (credit "
                    + receiveCredit + " > receive buffer " + receiveBufferBytes + ")");
        }
        if (!closedByNode) {
            deliverHeld();
        }
    }

    /** The guest reset or refused the connection: RST to the client. */
    void guestReset() {
        abort();
    }

    /** Closes with RST and tells the guest nothing (it reset, stopped, or the node shuts down). */
    void abort() {
        if (!closedByNode) {
            closedByNode = true;
            held.clear();
            control.reset();
        }
    }

    /** Once both sides sent FIN the socket is closed, after the guest's last bytes are written. */
    private boolean closeIfBothFinished() {
        if (!(clientFin && guestFin) || closedByNode) {
            return false;
        }
        closedByNode = true;
        if (!clientFinDelivered) {
            // The guest finished before reading all the client sent: like TCP closing with unread input.
            held.clear();
            events.accept(new IngressEvent.Reset(id));
        }
        lastWrite.onComplete(ar -> socket.close());
        return true;
    }
}
