package io.replicode.gateway.routing;

import io.replicode.nat.IngressEvent;

/**
 * The flow-control half every kind of exchange shares: one virtual connection's windows in both directions.
 * Client bytes go to the guest through an {@link InboundWindow} (at most the guest's receive buffer in
 * flight); guest bytes count against its send window until the client has taken them, and are then granted
 * back to the guest with a window event. A guest that breaks either window is reported as a violation.
 */
public abstract class GuestStream implements Peer {
    protected final long id;
    protected final String app;
    protected final Switchboard switchboard;
    protected final InboundWindow inbound;
    private final long sendWindowBytes;
    /** Guest bytes not yet taken by the client. */
    private long pendingToClient;
    /** Guest bytes the client took that have not been granted back to the guest yet (see {@link #delivered}). */
    private long ungranted;
    private boolean inboundDiscarded;
    /** The guest closed its side of the connection: it sends nothing more. */
    private boolean guestFinished;

    protected GuestStream(long id, String app, Switchboard switchboard, int receiveBufferBytes, long sendWindowBytes) {
        this.id = id;
        this.app = app;
        this.switchboard = switchboard;
        this.sendWindowBytes = sendWindowBytes;
        this.inbound = new InboundWindow(id, receiveBufferBytes, e -> switchboard.emit(app, e));
    }

    /** Counts {@code n} guest bytes against the send window; false (and reported) when the guest overran it. */
    protected final boolean admitSent(int n) {
        pendingToClient += n;
        if (pendingToClient + ungranted > sendWindowBytes) {
            switchboard.violation(app, id, "the guest sent " + (pendingToClient + ungranted) + " bytes beyond what it"
                    + " was granted back, more than its send window of " + sendWindowBytes);
            return false;
        }
        return true;
    }

    /**
     * The client took {@code n} guest bytes: they leave the window, and the guest may send that much more. The grant
     * is made only to a guest that may still send. Its close usually comes in the same output batch as its last bytes,
     * after them, and a write may complete at once: so the grant is decided once the batch is routed. A grant to a
     * closed connection cost every replica an event, and a frame of its own per batch of requests (HTTP and event-bus
     * requests end with the guest's close).
     *
     * <p>Grants are gathered until they reach half the send window, as a TCP receiver delays its window updates: the
     * guest then always has at least half its window to send in, and a request/reply client (redis-benchmark: one
     * short reply per request) no longer costs every replica a window event per reply, half the events of a frame.
     * A guest that filled its window is granted once the client took half of it.
     */
    protected final void delivered(int n, boolean grantToGuest) {
        pendingToClient -= n;
        if (!grantToGuest) {
            return;
        }
        ungranted += n;
        if (ungranted * 2 < sendWindowBytes) {
            return;
        }
        int grant = (int) Math.min(ungranted, Integer.MAX_VALUE);
        ungranted -= grant;
        switchboard.afterOutputs(() -> {
            if (!guestFinished) {
                switchboard.emit(app, new IngressEvent.Window(id, grant));
            }
        });
    }

    /** The guest closed its side: no more window is granted to it. Subclasses call this from {@code guestClosed}. */
    protected final void guestFinishedSending() {
        guestFinished = true;
    }

    /** The guest consumed {@code bytes} of client input; false (and reported) when more than was in flight. */
    protected final boolean admitConsumed(int bytes) {
        if (!inbound.consumed(bytes)) {
            switchboard.violation(app, id, "the guest consumed " + bytes + " bytes with only "
                    + inbound.inFlightBytes() + " in flight");
            return false;
        }
        return true;
    }

    /**
     * The connection ends before the guest read all the client sent: what is held here and what the guest
     * was sent but did not consume are dropped, and counted for {@code /status}.
     */
    protected final void discardInbound() {
        if (!inboundDiscarded) {
            inboundDiscarded = true;
            switchboard.discarded(app, inbound.heldBytes() + inbound.inFlightBytes());
        }
        inbound.discard();
    }

    @Override
    public final long heldFromClient() {
        return inbound.heldBytes();
    }

    @Override
    public final int inFlightToGuest() {
        return inbound.inFlightBytes();
    }

    @Override
    public final long pendingToClient() {
        return pendingToClient;
    }
}
