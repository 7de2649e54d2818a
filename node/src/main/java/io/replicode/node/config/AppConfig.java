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
 */
public record AppConfig(String name, Path module, List<String> listeners, List<TcpBinding> tcp, GuestLimits limits,
                        int maxConnections, List<String> args, Map<String, String> env, List<String> preopens,
                        String httpListener, ClientLimits clients) {
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
    }
}
