package io.replicode.node;

import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one reader and writer of {@code genesis.json}'s fields: what {@link Genesis} writes and compares when a node
 * starts, and what {@code replay verify} reads back. Every field is named here once; the limits by the names of
 * {@link GuestLimits}' components.
 */
public final class GenesisCodec {
    private GenesisCodec() {}

    /** An app's genesis as read back: the guest config it ran with, its module's SHA-256 and path (null if unknown). */
    public record Recorded(GuestConfig config, String moduleSha256, Path modulePath) {}

    /**
     * Fields a genesis written by an earlier Replicode lacks: the gateway ports of the listeners (which one a guest's
     * bind claims) and the upstreams (where it may connect). No guest could bind or connect then, so a genesis without
     * them agrees with any value.
     */
    static final java.util.Set<String> ADDED_LATER = java.util.Set.of("listenerPorts", "upstreams");

    /**
     * The port each listener has for the guest (which listener its bind claims): fixed at genesis, so a later run or
     * another cluster member with other gateway ports (their own --tcp, a port offset) gives the guest the same view.
     */
    static final String LISTENER_PORTS = "listenerPorts";

    /** Everything that decides the guest's behaviour besides the seed and time: what a later start must match. */
    public static JsonObject describe(GuestConfig c, String moduleSha256) {
        return new JsonObject()
                .put("module", moduleSha256)
                .put("args", new JsonArray(List.copyOf(c.args())))
                .put("environment", new JsonObject(new LinkedHashMap<>(c.environment())))
                .put("listeners", new JsonArray(List.copyOf(c.listeners())))
                .put("preopens", new JsonArray(List.copyOf(c.preopens())))
                .put("limits", limits(c.limits()))
                .put("listenerPorts", new JsonObject(new LinkedHashMap<>(c.listenerPorts())))
                .put("upstreams", new JsonArray(List.copyOf(c.upstreams())));
    }

    /**
     * Reads a genesis of {@code app}. Throws {@link IllegalArgumentException}, {@link ClassCastException} or
     * {@link NullPointerException} for a missing or mistyped field; the caller names the file.
     */
    public static Recorded read(JsonObject g, String app) {
        GuestConfig config = GuestConfig.of(app, strings(g.getJsonArray("listeners")))
                .withLimits(limits(g.getJsonObject("limits")))
                .withArgs(strings(g.getJsonArray("args")))
                .withEnvironment(environment(g.getJsonObject("environment")))
                .withPreopens(strings(g.getJsonArray("preopens")))
                .withListenerPorts(ports(g.getJsonObject("listenerPorts", new JsonObject())))
                .withUpstreams(strings(g.getJsonArray("upstreams", new JsonArray())))
                .withGenesis(HexFormat.of().parseHex(g.getString("seed")), g.getLong("timeNs"));
        String sha = g.getString("module");
        if (sha == null) {
            throw new IllegalArgumentException("no module hash");
        }
        String path = g.getString("modulePath");
        return new Recorded(config, sha, path == null ? null : Path.of(path));
    }

    static java.util.Map<String, Integer> ports(JsonObject o) {
        java.util.Map<String, Integer> m = new LinkedHashMap<>();
        for (String k : o.fieldNames()) {
            m.put(k, o.getInteger(k));
        }
        return m;
    }

    /** The limits as genesis.json stores them: every one under its name ({@link GuestLimits#byName}). */
    static JsonObject limits(GuestLimits l) {
        JsonObject json = new JsonObject();
        l.byName().forEach(json::put);
        return json;
    }

    static GuestLimits limits(JsonObject json) {
        return GuestLimits.fromNames(name -> {
            Number n = json.getNumber(name);
            return n == null ? null : n.longValue();
        });
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            out.add(a.getString(i));
        }
        return out;
    }

    /** GuestConfig adds LISTEN_FDS and LISTEN_FDNAMES itself, after the app's own variables. */
    private static Map<String, String> environment(JsonObject env) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String k : env.fieldNames()) {
            if (!k.equals("LISTEN_FDS") && !k.equals("LISTEN_FDNAMES")) {
                out.put(k, env.getString(k));
            }
        }
        return out;
    }
}
