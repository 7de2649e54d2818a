package io.replicode.cluster;

/**
 * Why an app's frame ring refused a read or an append; {@link #reason()} says what the caller does next.
 */
public final class RingLogException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The cases a caller tells apart. */
    public enum Reason {
        /** The reader's next position was overwritten (the ring is bounded): load a snapshot, then read on from it. */
        OVERRUN,
        /** Another writer continued the history first: this writer's frames are strays. Stop sequencing or recover. */
        FENCED,
        /** This member sees fewer members than the minimum cluster size: nothing was appended. */
        MINORITY,
        /** The append failed in a way that leaves unknown whether it was stored: recover to find out. */
        UNCERTAIN,
        /** The ring is behind the cursor: every member holding it was lost and it started again empty. */
        RING_RESTARTED
    }

    private final Reason reason;

    public RingLogException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public RingLogException(Reason reason, String message) {
        this(reason, message, null);
    }

    public Reason reason() {
        return reason;
    }
}
