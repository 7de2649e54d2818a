package io.replicode.replica;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An app's genesis: everything about a guest that is fixed before its first frame. Two replicas with
 * the same module, config and frames compute the same outputs.
 *
 * @param app           app name (argv[0] unless args says otherwise)
 * @param args          argv as the guest sees it
 * @param environment   environment in declaration order; LISTEN_FDS and LISTEN_FDNAMES are added
 * @param listeners     listening socket names, preopened as fds 3.. in this order
 * @param preopens      directories preopened after the listeners, e.g. "/data"
 * @param genesisSeed   seed of the guest's random stream
 * @param genesisTimeNs frame time of genesis; the monotonic clock counts from here
 * @param limits        resource bounds
 * @param listenerPorts the gateway's TCP port of each listener that has one: a guest that binds that port (WasmEdge's
 *                      {@code sock_bind}) claims that listener
 * @param upstreams     {@code host:port} of each service the guest may connect to; any other connect is refused
 */
public record GuestConfig(
        String app,
        List<String> args,
        Map<String, String> environment,
        List<String> listeners,
        List<String> preopens,
        byte[] genesisSeed,
        long genesisTimeNs,
        GuestLimits limits,
        Map<String, Integer> listenerPorts,
        List<String> upstreams) {

    public GuestConfig {
        Objects.requireNonNull(app, "app");
        args = List.copyOf(args);
        listeners = List.copyOf(listeners);
        preopens = List.copyOf(preopens);
        LinkedHashMap<String, String> env = new LinkedHashMap<>(environment);
        env.put("LISTEN_FDS", Integer.toString(listeners.size()));
        env.put("LISTEN_FDNAMES", String.join(":", listeners));
        environment = java.util.Collections.unmodifiableMap(env);
        genesisSeed = genesisSeed.clone();
        Objects.requireNonNull(limits, "limits");
        for (String p : preopens) {
            if (!p.startsWith("/") || p.length() < 2) {
                throw new IllegalArgumentException("preopen '" + p + "' must be an absolute directory name like /data");
            }
        }
        for (String l : listeners) {
            if (l.isEmpty() || l.contains(":")) {
                throw new IllegalArgumentException("listener name '" + l + "' must be non-empty and contain no ':'");
            }
        }
        listenerPorts = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(listenerPorts));
        for (var e : listenerPorts.entrySet()) {
            if (!listeners.contains(e.getKey()) || e.getValue() < 1 || e.getValue() > 65535) {
                throw new IllegalArgumentException("listener port " + e.getKey() + "=" + e.getValue()
                        + " names no declared listener or is outside 1..65535");
            }
        }
        upstreams = List.copyOf(upstreams);
        for (String u : upstreams) {
            Upstream.parse(u);
        }
    }

    /** A config with the usual defaults: argv = [app], /data preopened, default limits, genesis at time 0. */
    public static GuestConfig of(String app, List<String> listeners) {
        return new GuestConfig(app, List.of(app), Map.of(), listeners, List.of("/data"), new byte[32], 0L, GuestLimits.DEFAULT,
                Map.of(), List.of());
    }

    public GuestConfig withLimits(GuestLimits l) {
        return new GuestConfig(app, args, stripListenEnv(), listeners, preopens, genesisSeed, genesisTimeNs, l, listenerPorts, upstreams);
    }

    public GuestConfig withArgs(List<String> a) {
        return new GuestConfig(app, a, stripListenEnv(), listeners, preopens, genesisSeed, genesisTimeNs, limits, listenerPorts, upstreams);
    }

    public GuestConfig withEnvironment(Map<String, String> env) {
        return new GuestConfig(app, args, env, listeners, preopens, genesisSeed, genesisTimeNs, limits, listenerPorts, upstreams);
    }

    public GuestConfig withPreopens(List<String> dirs) {
        return new GuestConfig(app, args, stripListenEnv(), listeners, dirs, genesisSeed, genesisTimeNs, limits, listenerPorts, upstreams);
    }

    public GuestConfig withGenesis(byte[] seed, long timeNs) {
        return new GuestConfig(app, args, stripListenEnv(), listeners, preopens, seed, timeNs, limits, listenerPorts, upstreams);
    }

    /** The same config with the gateway ports of its listeners. */
    public GuestConfig withListenerPorts(Map<String, Integer> ports) {
        return new GuestConfig(app, args, stripListenEnv(), listeners, preopens, genesisSeed, genesisTimeNs, limits, ports,
                upstreams);
    }

    /** The same config with the services the guest may connect to ({@code host:port} each). */
    public GuestConfig withUpstreams(List<String> targets) {
        return new GuestConfig(app, args, stripListenEnv(), listeners, preopens, genesisSeed, genesisTimeNs, limits,
                listenerPorts, targets);
    }

    private Map<String, String> stripListenEnv() {
        LinkedHashMap<String, String> env = new LinkedHashMap<>(environment);
        env.remove("LISTEN_FDS");
        env.remove("LISTEN_FDNAMES");
        return env;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuestConfig c && c.app.equals(app) && c.args.equals(args) && c.environment.equals(environment)
                && c.listeners.equals(listeners) && c.preopens.equals(preopens) && Arrays.equals(c.genesisSeed, genesisSeed)
                && c.genesisTimeNs == genesisTimeNs && c.limits.equals(limits) && c.listenerPorts.equals(listenerPorts)
                && c.upstreams.equals(upstreams);
    }

    @Override
    public int hashCode() {
        return Objects.hash(app, args, environment, listeners, preopens, Arrays.hashCode(genesisSeed), genesisTimeNs, limits,
                listenerPorts, upstreams);
    }
}
