package io.replicode.gateway.routing;

import io.replicode.nat.IngressEvent;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Client bytes on their way to the guest, within the guest's receive window: at most
 * {@code receiveBufferBytes} are in flight (sent as Data, not yet consumed by the guest); the rest is held
 * here while the caller stops reading from the client ({@link #accepting()} is false). The client's end of
 * input reaches the guest only after every byte before it.
 *
 * <p>Pure and single-threaded.
 */
public final class InboundWindow {
    private final long connection;
    private final int receiveBufferBytes;
    private final Consumer<IngressEvent> events;
    private final ArrayDeque<byte[]> held = new ArrayDeque<>();
    private long heldBytes;
    private int credit;
    private boolean ended;
    private boolean endDelivered;

    /** @param events where Data and HalfClose events for {@code connection} go */
    public InboundWindow(long connection, int receiveBufferBytes, Consumer<IngressEvent> events) {
        this.connection = connection;
        this.receiveBufferBytes = receiveBufferBytes;
        this.credit = receiveBufferBytes;
        this.events = events;
    }

    /** The client sent {@code bytes}: passed on as far as the window allows, the rest held. */
    public void data(byte[] bytes) {
        if (ended) {
            throw new IllegalStateException("connection " + connection + ": data after the end of input");
        }
        if (bytes.length > 0) {
            held.addLast(bytes);
            heldBytes += bytes.length;
            deliver();
        }
    }

    /** The client's input ended: the guest sees the end after the bytes before it. */
    public void end() {
        ended = true;
        deliver();
    }

    /** The guest consumed {@code bytes}; returns false (and changes nothing) if that is more than it was sent. */
    public boolean consumed(int bytes) {
        if (bytes < 0 || (long) credit + bytes > receiveBufferBytes) {
            return false;
        }
        credit += bytes;
        deliver();
        return true;
    }

    /** Whether nothing is held: the caller may read more from the client. */
    public boolean accepting() {
        return held.isEmpty();
    }

    /** Whether the end of input was passed to the guest. */
    public boolean endDelivered() {
        return endDelivered;
    }

    /** Client bytes held here, not yet sent to the guest. */
    public long heldBytes() {
        return heldBytes;
    }

    /** Bytes sent to the guest that it has not consumed yet. */
    public int inFlightBytes() {
        return receiveBufferBytes - credit;
    }

    /** Drops what is held (the connection was reset). */
    public void discard() {
        held.clear();
        heldBytes = 0;
    }

    private void deliver() {
        while (credit > 0 && !held.isEmpty()) {
            byte[] chunk = held.pollFirst();
            if (chunk.length > credit) {
                held.addFirst(Arrays.copyOfRange(chunk, credit, chunk.length));
                chunk = Arrays.copyOf(chunk, credit);
            }
            credit -= chunk.length;
            heldBytes -= chunk.length;
            events.accept(new IngressEvent.Data(connection, chunk));
        }
        if (ended && held.isEmpty() && !endDelivered) {
            endDelivered = true;
            events.accept(new IngressEvent.HalfClose(connection));
        }
    }
}
