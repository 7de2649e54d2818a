package io.replicode.gateway.limits;

/** Why the gateway refused a client or cut one off: the keys of an app's {@code "limits"} in {@code /status}. */
public enum Reason {
    /** The app stopped, or this gateway cannot reach a majority. */
    UNAVAILABLE("unavailable"),
    /** The app has {@code maxConnections} open at this gateway. */
    APP_FULL("appFull"),
    /** The client's address has {@code maxConnectionsPerClient} open to the app. */
    CLIENT_CAP("perClientCap"),
    /** No byte moved either way for {@code idleTimeoutMs}. */
    IDLE_TIMEOUT("idleTimeout"),
    /** An HTTP request body came slower than the body timeout allows. */
    BODY_TIMEOUT("bodyTimeout");

    private final String key;

    Reason(String key) {
        this.key = key;
    }

    /** The name in {@code /status}. */
    public String key() {
        return key;
    }
}
