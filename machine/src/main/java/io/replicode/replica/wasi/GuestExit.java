package io.replicode.replica.wasi;

/** Thrown by {@code proc_exit} to unwind the guest; the machine turns it into a stop with the exit status. */
public final class GuestExit extends RuntimeException {
    private final int status;

    public GuestExit(int status) {
        super("exit status " + status, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
