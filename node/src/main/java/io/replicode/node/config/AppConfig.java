package io.replicode.node.config;

import io.replicode.replica.GuestLimits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One app as the node runs it.
 *
 * @param name           app name: lower case letters, digits, '-' and '_'
 * @param module         the WASI module file
 * @param listeners      the guest's listening sockets, preopened as fds 3, 4, ... in this order
 * @param tcp            the node's TCP ports that lead to those listeners
 * @param limits         the guest's resource bounds
 * @param maxConnections most client connections open at once; more are closed on accept
 * @param args           the guest's argv; empty means just the app name
 * @param env            the guest's environment, in order (LISTEN_FDS and LISTEN_FDNAMES are added)
 * @param preopens       directories the guest gets, each a private in-memory directory
 * @param httpListener   the listener the gateway's HTTP ingress at /&lt;name&gt;/ reaches, or null for none
 * @param clients        what the gateway allows the app's clients (per-address cap, timeouts)
 * @param upstreams      {@code host:port} of the services the guest may connect to (anything else is refused)
 * @param upstreamConnectTimeoutMs how long the connector waits for an upstream to accept before the guest's connect
 *                       fails with TIMEDOUT
 * @param listenerPorts  the port each listener has in the configuration (its first TCP binding, before any
 *                       {@code --port-offset}): a guest that binds that port claims that listener
 */
public record AppConfig(String name, Path module, List<String> listeners, List<TcpBinding> tcp, GuestLimits limits,
                        int maxConnections, List<String> args, Map<String, String> env, List<String> preopens,
                        String httpListener, ClientLimits clients, List<String> upstreams, long upstreamConnectTimeoutMs,
                        Map<String, Integer> listenerPorts) {
    /** How long a connect to an upstream may take when the config does not say. */
    public static final long DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS = 10_000;

    /** An app with no upstreams. */
    public AppConfig(String name, Path module, List<String> listeners, List<TcpBinding> tcp, GuestLimits limits,
                     int maxConnections, List<String> args, Map<String, String> env, List<String> preopens,
                     String httpListener, ClientLimits clients) {
        this(name, module, listeners, tcp, limits, maxConnections, args, env, preopens, httpListener, clients, List.of(),
                DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS, portsOf(tcp));
    }

    /** The first non-zero port bound to each listener. */
    static Map<String, Integer> portsOf(List<TcpBinding> tcp) {
        Map<String, Integer> ports = new java.util.TreeMap<>();
        for (TcpBinding b : tcp) {
            if (b.port() > 0) {
                ports.putIfAbsent(b.listener(), b.port());
            }
        }
        return ports;
    }

    /** The directories a guest gets when the config names none. */
    public static final List<String> DEFAULT_PREOPENS = List.of("/data");

    /** An app with default argv, an empty environment and /data preopened. */
    public AppConfig(String name, Path module, List<String> listeners, List<TcpBinding> tcp, GuestLimits limits,
                     int maxConnections) {
        this(name, module, listeners, tcp, limits, maxConnections, List.of(), Map.of(), DEFAULT_PREOPENS, null);
    }

    /** An app whose clients get the gateway's defaults. */
    public AppConfig(String name, Path module, List<String> listeners, List<TcpBinding> tcp, GuestLimits limits,
                     int maxConnections, List<String> args, Map<String, String> env, List<String> preopens,
                     String httpListener) {
        this(name, module, listeners, tcp, limits, maxConnections, args, env, preopens, httpListener,
                ClientLimits.DEFAULT.withMaxConnectionsPerClient(Math.max(1,
                        Math.min(maxConnections, ClientLimits.DEFAULT.maxConnectionsPerClient()))));
    }

    public AppConfig {
        args = List.copyOf(args);
        env = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(env));
        preopens = List.copyOf(preopens);
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(module, "module");
        listeners = List.copyOf(listeners);
        tcp = List.copyOf(tcp);
        Objects.requireNonNull(limits, "limits");
        if (httpListener != null && !listeners.contains(httpListener)) {
            throw new IllegalArgumentException("app '" + name + "' sends HTTP to unknown listener '" + httpListener + "'");
        }
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("app '" + name + "' has no listener");
        }
        for (TcpBinding b : tcp) {
            if (!listeners.contains(b.listener())) {
                throw new IllegalArgumentException("app '" + name + "' binds port " + b.port() + " to unknown listener '"
                        + b.listener() + "'");
            }
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("app '" + name + "' maxConnections = " + maxConnections + " must be >= 1");
        }
        Objects.requireNonNull(clients, "clients");
        listenerPorts = Map.copyOf(listenerPorts);
        upstreams = List.copyOf(upstreams);
        for (String u : upstreams) {
            io.replicode.replica.Upstream.parse(u);
        }
        if (upstreamConnectTimeoutMs < 1) {
            throw new IllegalArgumentException("app '" + name + "' upstreamConnectTimeoutMs = " + upstreamConnectTimeoutMs
                    + " must be >= 1");
        }
    }

    /** The same app with the services its guest may connect to. */
    public AppConfig withUpstreams(List<String> targets, long connectTimeoutMs) {
        return new AppConfig(name, module, listeners, tcp, limits, maxConnections, args, env, preopens, httpListener, clients,
                targets, connectTimeoutMs, listenerPorts);
    }

    /** The same app with other TCP bindings (a port offset): the ports its guest sees stay the configured ones. */
    public AppConfig withTcp(List<TcpBinding> bindings) {
        return new AppConfig(name, module, listeners, bindings, limits, maxConnections, args, env, preopens, httpListener,
                clients, upstreams, upstreamConnectTimeoutMs, listenerPorts);
    }
}
