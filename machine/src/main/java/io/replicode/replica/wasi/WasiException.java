package io.replicode.replica.wasi;

/** Thrown inside the WASI host to end a call with a WASI errno; never escapes to the guest as an exception. */
public final class WasiException extends RuntimeException {
    /**
     * "Would block": thrown on the hot path of every waiting call, so it is one shared, stackless instance
     * rather than a new exception with a message each time (that showed up in profiles).
     */
    public static final WasiException WOULD_BLOCK = new WasiException(Errno.AGAIN, "would block");

    private final int errno;

    public WasiException(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    public WasiException(int errno) {
        this(errno, "errno " + errno);
    }

    /** The WASI errno the guest receives. */
    public int errno() {
        return errno;
    }
}
