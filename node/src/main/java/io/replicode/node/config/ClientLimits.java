package io.replicode.node.config;

import io.replicode.gateway.GatewayConfig;

/**
 * What the gateway allows one app's clients ({@code "gateway"} of an app in the config file); the gateway
 * enforces it ({@link GatewayConfig.Limits}).
 *
 * @param maxConnectionsPerClient open connections to the app from one client address (429, RESP -ERR, reset)
 * @param idleTimeoutMs           a connection on which no byte moved either way for this long is closed
 * @param headerTimeoutMs         an HTTP request head must be complete this long after the connection opened
 *                                or its previous response ended (408)
 * @param bodyTimeoutMs           an HTTP request body may take this long plus one second per
 *                                {@code minBodyBytesPerSecond} bytes received (408)
 * @param minBodyBytesPerSecond   the body rate that keeps extending {@code bodyTimeoutMs}
 */
public record ClientLimits(int maxConnectionsPerClient, long idleTimeoutMs, long headerTimeoutMs, long bodyTimeoutMs,
                           long minBodyBytesPerSecond) {
    /** The gateway's defaults; the per-client cap is lowered to the app's maxConnections where that is smaller. */
    public static final ClientLimits DEFAULT = new ClientLimits(
            GatewayConfig.Limits.DEFAULT_MAX_CONNECTIONS_PER_CLIENT, GatewayConfig.Limits.DEFAULT_IDLE_TIMEOUT_MS,
            GatewayConfig.Limits.DEFAULT_HEADER_TIMEOUT_MS, GatewayConfig.Limits.DEFAULT_BODY_TIMEOUT_MS,
            GatewayConfig.Limits.DEFAULT_MIN_BODY_BYTES_PER_SECOND);

    public ClientLimits {
        if (maxConnectionsPerClient < 1 || idleTimeoutMs < 1 || headerTimeoutMs < 1 || bodyTimeoutMs < 1
                || minBodyBytesPerSecond < 1) {
            throw new IllegalArgumentException("client limits must be at least 1: " + this);
        }
    }

    public ClientLimits withMaxConnectionsPerClient(int n) {
        return new ClientLimits(n, idleTimeoutMs, headerTimeoutMs, bodyTimeoutMs, minBodyBytesPerSecond);
    }
}
