package io.replicode.gateway.routing;

/**
 * The external end of one virtual connection (a TCP client, an HTTP exchange, an event-bus request): what
 * the gateway does with the guest's outputs for it. Every method runs on the gateway's event loop. A peer
 * that ends by itself (both sides closed, a reset either way) calls {@link Switchboard#finished}; after
 * {@link #abort} the switchboard does.
 */
public interface Peer {
    /** The guest sent {@code bytes}, the next ones of its stream (offsets already checked). */
    void guestSent(byte[] bytes);

    /** The guest ended its sending side after everything it sent. */
    void guestClosed();

    /** The guest reset or refused the connection. */
    void guestReset();

    /** The guest consumed {@code bytes} of the client's input: that much more may be sent to it. */
    void guestConsumed(int bytes);

    /**
     * Ends the connection at the client without a word to the guest: the app stopped, the guest's outputs
     * did not line up, or the gateway is stopping. {@code reason} is for the client where it can be told.
     */
    void abort(String reason);

    /** Client bytes held at the gateway, not yet sent to the guest. */
    long heldFromClient();

    /** Client bytes sent to the guest that it has not consumed yet. */
    int inFlightToGuest();

    /** Guest bytes taken for the client that it has not been given credit back for yet. */
    long pendingToClient();
}
