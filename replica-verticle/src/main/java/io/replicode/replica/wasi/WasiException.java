package io.replicode.replica.wasi;

/** Thrown inside the WASI host to end a call with a WASI errno; never escapes to the guest as an exception. */
public final class WasiException extends RuntimeException {
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
