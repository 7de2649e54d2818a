package io.replicode.gateway;

import io.replicode.nat.ConnectionIds;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Everything one gateway needs to know: who it is, where it listens, and for each app its listeners,
 * its TCP bindings, where HTTP goes and the bounds of its connections. Validated on construction, so a
 * mistake is reported before anything listens.
 *
 * @param gatewayId        this gateway's id, in the top bits of every virtual connection id it opens
 * @param host             address the HTTP and TCP servers bind
 * @param httpPort         port of the HTTP server (apps at {@code /<app>/...}, {@code /status}, {@code /health});
 *                         0 picks a free port
 * @param apps             the apps this gateway serves, in display order
 * @param requestTimeoutMs how long an event-bus request, or an HTTP request whose body was sent, waits for
 *                         the guest's answer (its response head, for HTTP)
 * @param statusMappings   most NAT mappings listed by {@code /status} (the count is always complete)
 * @param statusProvider   what the gateway cannot know itself (replicas' last seq and digest, sequencer
 *                         state): its JSON appears under {@code "pipeline"} in {@code /status}; may be null
 * @param firstConnectionCounter counter of the first virtual connection this gateway opens (default 1). A
 *                         gateway restarted under the same id should start above every counter of its
 *                         previous run: replicas that replay the log send outputs for the old connections,
 *                         and those must not land on a new connection with the same id
 * @param statusPerSecond  {@code GET /status} requests one client address may make per second, after a burst
 *                         of {@code statusBurst}; beyond, 429 with Retry-After
 * @param statusBurst      requests a client address may make at once
 */
public record GatewayConfig(
        int gatewayId,
        String host,
        int httpPort,
        List<App> apps,
        long requestTimeoutMs,
        int statusMappings,
        Supplier<Future<JsonObject>> statusProvider,
        long firstConnectionCounter,
        double statusPerSecond,
        int statusBurst) {

    public static final int DEFAULT_HTTP_PORT = 8080;
    public static final long DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
    public static final int DEFAULT_STATUS_MAPPINGS = 100;
    public static final double DEFAULT_STATUS_PER_SECOND = 2;
    public static final int DEFAULT_STATUS_BURST = 10;
    /** Paths of the gateway's own HTTP API: no app may take these names. */
    public static final Set<String> RESERVED_NAMES = Set.of("status", "health", "metrics", "ui", "admin");

    public GatewayConfig {
        if (gatewayId < 0 || gatewayId > ConnectionIds.MAX_GATEWAY) {
            throw new IllegalArgumentException("gateway id " + gatewayId + " is outside 0.." + ConnectionIds.MAX_GATEWAY);
        }
        Objects.requireNonNull(host, "host");
        requirePort(httpPort, "HTTP port");
        apps = List.copyOf(apps);
        if (requestTimeoutMs < 1) {
            throw new IllegalArgumentException("request timeout " + requestTimeoutMs + " ms; Fix: use at least 1 ms");
        }
        if (firstConnectionCounter < 1 || firstConnectionCounter > ConnectionIds.MAX_COUNTER / 2) {
            throw new IllegalArgumentException("first connection counter " + firstConnectionCounter + " is outside 1.."
                    + ConnectionIds.MAX_COUNTER / 2 + " (half the counter space, so a run never runs out)");
        }
        if (!(statusPerSecond > 0) || statusBurst < 1) {
            throw new IllegalArgumentException("status rate " + statusPerSecond + "/s with burst " + statusBurst
                    + "; Fix: use a positive rate and a burst of at least 1");
        }
        if (statusMappings < 0) {
            throw new IllegalArgumentException("status mappings " + statusMappings + " must not be negative");
        }
        Set<String> names = new HashSet<>();
        Map<Integer, String> ports = new HashMap<>();
        if (httpPort != 0) {
            ports.put(httpPort, "the gateway's HTTP server");
        }
        for (App app : apps) {
            if (!names.add(app.name())) {
                throw new IllegalArgumentException("app '" + app.name() + "' is configured twice");
            }
            for (TcpBinding b : app.tcp()) {
                if (b.port() == 0) {
                    continue;
                }
                String was = ports.put(b.port(), "app '" + app.name() + "' listener '" + b.listener() + "'");
                if (was != null) {
                    throw new IllegalArgumentException("port " + b.port() + " is given to both " + was + " and app '"
                            + app.name() + "' listener '" + b.listener() + "'; Fix: give each its own port");
                }
            }
        }
    }

    /** A gateway on {@code host}:8080 for {@code apps}, with default timeouts and no status provider. */
    public static GatewayConfig of(int gatewayId, String host, List<App> apps) {
        return new GatewayConfig(gatewayId, host, DEFAULT_HTTP_PORT, apps, DEFAULT_REQUEST_TIMEOUT_MS,
                DEFAULT_STATUS_MAPPINGS, null, 1, DEFAULT_STATUS_PER_SECOND, DEFAULT_STATUS_BURST);
    }

    public GatewayConfig withHttpPort(int port) {
        return new GatewayConfig(gatewayId, host, port, apps, requestTimeoutMs, statusMappings, statusProvider,
                firstConnectionCounter, statusPerSecond, statusBurst);
    }

    public GatewayConfig withRequestTimeoutMs(long ms) {
        return new GatewayConfig(gatewayId, host, httpPort, apps, ms, statusMappings, statusProvider,
                firstConnectionCounter, statusPerSecond, statusBurst);
    }

    public GatewayConfig withStatusMappings(int n) {
        return new GatewayConfig(gatewayId, host, httpPort, apps, requestTimeoutMs, n, statusProvider,
                firstConnectionCounter, statusPerSecond, statusBurst);
    }

    public GatewayConfig withStatusProvider(Supplier<Future<JsonObject>> provider) {
        return new GatewayConfig(gatewayId, host, httpPort, apps, requestTimeoutMs, statusMappings, provider,
                firstConnectionCounter, statusPerSecond, statusBurst);
    }

    /** {@code GET /status} limited to {@code perSecond} per client address, after a burst of {@code burst}. */
    public GatewayConfig withStatusRate(double perSecond, int burst) {
        return new GatewayConfig(gatewayId, host, httpPort, apps, requestTimeoutMs, statusMappings, statusProvider,
                firstConnectionCounter, perSecond, burst);
    }

    public GatewayConfig withFirstConnectionCounter(long counter) {
        return new GatewayConfig(gatewayId, host, httpPort, apps, requestTimeoutMs, statusMappings, statusProvider,
                counter, statusPerSecond, statusBurst);
    }

    /** The app named {@code name}, or null. */
    public App app(String name) {
        for (App a : apps) {
            if (a.name().equals(name)) {
                return a;
            }
        }
        return null;
    }

    /**
     * One app as the gateway sees it.
     *
     * @param name         the app's name, also its HTTP path prefix {@code /<name>/}
     * @param listeners    the guest's listening sockets, in declared order (event-bus requests default to the first)
     * @param tcp          TCP ports that carry raw bytes to a listener
     * @param httpListener the listener {@code /<name>/...} goes to, or null for none
     * @param limits       bounds of this app's connections
     */
    public record App(String name, List<String> listeners, List<TcpBinding> tcp, String httpListener, Limits limits) {
        public App {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > 255 || !name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("app name '" + name + "' must be 1..255 letters, digits, '.', '_' or '-'");
            }
            if (RESERVED_NAMES.contains(name)) {
                throw new IllegalArgumentException("app name '" + name + "' is taken by the gateway's own "
                        + "/" + name + "; Fix: choose another name");
            }
            listeners = List.copyOf(listeners);
            tcp = List.copyOf(tcp);
            Objects.requireNonNull(limits, "limits");
            if (listeners.isEmpty()) {
                throw new IllegalArgumentException("app '" + name + "' has no listener");
            }
            if (new HashSet<>(listeners).size() != listeners.size()) {
                throw new IllegalArgumentException("app '" + name + "' names a listener twice: " + listeners);
            }
            for (TcpBinding b : tcp) {
                if (!listeners.contains(b.listener())) {
                    throw new IllegalArgumentException("app '" + name + "': tcp port " + b.port() + " goes to listener '"
                            + b.listener() + "', which is not one of " + listeners);
                }
            }
            if (httpListener != null && !listeners.contains(httpListener)) {
                throw new IllegalArgumentException("app '" + name + "': HTTP goes to listener '" + httpListener
                        + "', which is not one of " + listeners);
            }
        }

        /** An app with no TCP ports, HTTP to its "http" listener if it has one, default limits. */
        public static App of(String name, List<String> listeners) {
            return new App(name, listeners, List.of(), listeners.contains("http") ? "http" : null, Limits.DEFAULT);
        }

        public App withTcp(int port, String listener) {
            List<TcpBinding> more = new ArrayList<>(tcp);
            more.add(new TcpBinding(port, listener));
            return new App(name, listeners, more, httpListener, limits);
        }

        /** HTTP to {@code listener}; null for no HTTP. */
        public App withHttp(String listener) {
            return new App(name, listeners, tcp, listener, limits);
        }

        public App withLimits(Limits l) {
            return new App(name, listeners, tcp, httpListener, l);
        }
    }

    /**
     * A TCP port whose connections carry raw bytes to the guest listener {@code listener}; {@code protocol}
     * says how a connection the gateway refuses is told.
     */
    public record TcpBinding(int port, String listener, Protocol protocol) {
        public TcpBinding {
            requirePort(port, "TCP port");
            Objects.requireNonNull(listener, "listener");
            Objects.requireNonNull(protocol, "protocol");
        }

        /** A binding whose protocol follows the listener's name ({@link Protocol#of}). */
        public TcpBinding(int port, String listener) {
            this(port, listener, Protocol.of(listener));
        }
    }

    /** What a TCP listener speaks, as far as the gateway's own answers go. */
    public enum Protocol {
        /** Refusals and timeouts are a TCP reset: the gateway cannot speak for the app. */
        RAW,
        /** Redis protocol: a refused client reads {@code -ERR max number of clients reached}, as from Redis. */
        RESP;

        /** RESP for a listener named "resp" or "redis", RAW otherwise. */
        public static Protocol of(String listener) {
            return listener.equals("resp") || listener.equals("redis") ? RESP : RAW;
        }
    }


    /**
     * Bounds of an app's connections at the gateway, and the time a client may take. Hitting one gives the
     * client a clear answer (HTTP 408/429/503, RESP {@code -ERR max number of clients reached}, or a TCP reset)
     * and is counted per app and reason in {@code /status}.
     *
     * @param receiveBufferBytes  the guest's per-connection receive buffer: the gateway never has more client
     *                            bytes in flight to the guest than this; must equal the app's GuestLimits
     * @param sendWindowBytes     the guest's initial send window: the most guest output the gateway may hold
     *                            for a client at once; must equal the app's GuestLimits
     * @param maxRequestBodyBytes largest HTTP request body or event-bus request; larger ones get 413
     * @param maxReplyBytes       largest event-bus reply (it is collected whole before the reply is sent)
     * @param maxConnections      open virtual connections of the app at this gateway; more are refused (503)
     * @param maxConnectionsPerClient open connections of the app from one client address; more are refused (429)
     * @param idleTimeoutMs       a connection on which no byte moved either way for this long is closed
     * @param headerTimeoutMs     an HTTP request head must be complete this long after the connection opened or
     *                            its previous response ended (408 and close). Heads are read before the app is
     *                            known, so the HTTP server uses the largest value among the apps
     * @param bodyTimeoutMs       an HTTP request body may take this long, plus one second per
     *                            {@code minBodyBytesPerSecond} bytes received (408 otherwise); time the gateway
     *                            itself paused reading (the guest's window was full) does not count
     * @param minBodyBytesPerSecond the slowest body rate that keeps extending {@code bodyTimeoutMs}
     */
    public record Limits(int receiveBufferBytes, long sendWindowBytes, long maxRequestBodyBytes, long maxReplyBytes,
                         int maxConnections, int maxConnectionsPerClient, long idleTimeoutMs, long headerTimeoutMs,
                         long bodyTimeoutMs, long minBodyBytesPerSecond) {
        public static final int DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;
        public static final long DEFAULT_IDLE_TIMEOUT_MS = 300_000;
        public static final long DEFAULT_HEADER_TIMEOUT_MS = 10_000;
        public static final long DEFAULT_BODY_TIMEOUT_MS = 20_000;
        public static final long DEFAULT_MIN_BODY_BYTES_PER_SECOND = 500;
        public static final Limits DEFAULT = new Limits(256 << 10, 256 << 10, 64L << 20, 16L << 20, 10_000);

        public Limits {
            require(receiveBufferBytes >= 1, "receiveBufferBytes", receiveBufferBytes);
            require(sendWindowBytes >= 1, "sendWindowBytes", sendWindowBytes);
            require(maxRequestBodyBytes >= 0, "maxRequestBodyBytes", maxRequestBodyBytes);
            require(maxReplyBytes >= 0 && maxReplyBytes <= Integer.MAX_VALUE - 8, "maxReplyBytes", maxReplyBytes);
            require(maxConnections >= 1, "maxConnections", maxConnections);
            require(maxConnectionsPerClient >= 1, "maxConnectionsPerClient", maxConnectionsPerClient);
            require(idleTimeoutMs >= 1, "idleTimeoutMs", idleTimeoutMs);
            require(headerTimeoutMs >= 1, "headerTimeoutMs", headerTimeoutMs);
            require(bodyTimeoutMs >= 1, "bodyTimeoutMs", bodyTimeoutMs);
            require(minBodyBytesPerSecond >= 1, "minBodyBytesPerSecond", minBodyBytesPerSecond);
        }

        /** Limits with the default client cap and timeouts (the per-client cap never above {@code maxConnections}). */
        public Limits(int receiveBufferBytes, long sendWindowBytes, long maxRequestBodyBytes, long maxReplyBytes,
                      int maxConnections) {
            this(receiveBufferBytes, sendWindowBytes, maxRequestBodyBytes, maxReplyBytes, maxConnections,
                    Math.min(maxConnections, DEFAULT_MAX_CONNECTIONS_PER_CLIENT), DEFAULT_IDLE_TIMEOUT_MS,
                    DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MIN_BODY_BYTES_PER_SECOND);
        }

        public Limits withMaxRequestBodyBytes(long bytes) {
            return new Limits(receiveBufferBytes, sendWindowBytes, bytes, maxReplyBytes, maxConnections,
                    maxConnectionsPerClient, idleTimeoutMs, headerTimeoutMs, bodyTimeoutMs, minBodyBytesPerSecond);
        }

        public Limits withMaxConnections(int n) {
            return new Limits(receiveBufferBytes, sendWindowBytes, maxRequestBodyBytes, maxReplyBytes, n,
                    maxConnectionsPerClient, idleTimeoutMs, headerTimeoutMs, bodyTimeoutMs, minBodyBytesPerSecond);
        }

        public Limits withMaxConnectionsPerClient(int n) {
            return new Limits(receiveBufferBytes, sendWindowBytes, maxRequestBodyBytes, maxReplyBytes, maxConnections,
                    n, idleTimeoutMs, headerTimeoutMs, bodyTimeoutMs, minBodyBytesPerSecond);
        }

        /** The idle, header and body timeouts, and the body rate that extends the body timeout. */
        public Limits withTimeouts(long idleMs, long headerMs, long bodyMs, long minBodyBytesPerSecond) {
            return new Limits(receiveBufferBytes, sendWindowBytes, maxRequestBodyBytes, maxReplyBytes, maxConnections,
                    maxConnectionsPerClient, idleMs, headerMs, bodyMs, minBodyBytesPerSecond);
        }

        private static void require(boolean ok, String name, long value) {
            if (!ok) {
                throw new IllegalArgumentException("gateway limit " + name + " = " + value + " is out of range");
            }
        }
    }

    private static void requirePort(int port, String what) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is outside 0..65535");
        }
    }
}
