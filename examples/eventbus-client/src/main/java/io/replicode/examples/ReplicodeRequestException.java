package io.replicode.examples;

/**
 * A request to {@code replicode.app.<app>.request} that did not produce the guest's reply: why, as a {@link Kind},
 * the gateway's failure code when a gateway answered, and a message that says what happened and what to do.
 */
public final class ReplicodeRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the request failed. */
    public enum Kind {
        /** A gateway took the request and failed it: see {@link #code()} (400, 404, 413, 502, 503, 504). */
        GATEWAY_FAILED,
        /** Nothing in the cluster consumes the app's request address: no gateway serves an app of that name. */
        NO_GATEWAY,
        /** No reply (nor failure) came back within the client's timeout. */
        TIMEOUT,
        /** Anything else the event bus reported. */
        OTHER
    }

    private final String app;
    private final Kind kind;
    private final int code;

    public ReplicodeRequestException(String app, Kind kind, int code, String message, Throwable cause) {
        super(message, cause);
        this.app = app;
        this.kind = kind;
        this.code = code;
    }

    /** The app the request was for. */
    public String app() {
        return app;
    }

    public Kind kind() {
        return kind;
    }

    /** The gateway's failure code for {@link Kind#GATEWAY_FAILED}, else -1. */
    public int code() {
        return code;
    }
}
