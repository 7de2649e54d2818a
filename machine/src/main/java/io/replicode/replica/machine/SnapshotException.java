package io.replicode.replica.machine;

/** A snapshot that cannot be restored: malformed, corrupt, or from another module or app. */
public final class SnapshotException extends io.replicode.FixableException {
    public SnapshotException(String message) {
        super(message, "take a new snapshot from a healthy replica, or restore from the log");
    }

    public SnapshotException(String what, String fix) {
        super(what, fix);
    }
}
