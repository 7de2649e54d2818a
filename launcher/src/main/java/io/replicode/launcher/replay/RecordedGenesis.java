package io.replicode.launcher.replay;

import io.replicode.launcher.UserError;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An app's {@code genesis.json} read back (as {@code node/Genesis} wrote it): the guest config a replica ran
 * with, the SHA-256 of the module, and where the module was (null in data directories from before it was
 * remembered).
 */
record RecordedGenesis(GuestConfig config, String moduleSha256, Path modulePath) {

    static RecordedGenesis read(Path appDir, String app) {
        Path file = new io.replicode.launcher.node.DataDir.App(appDir).genesis();
        if (!Files.isRegularFile(file)) {
            throw new UserError("app '" + app + "' has no " + file + ": without it the log cannot be replayed",
                    "restore genesis.json from a backup of the data directory");
        }
        try {
            JsonObject g = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
            GuestConfig config = GuestConfig.of(app, strings(g.getJsonArray("listeners")))
                    .withLimits(limits(g.getJsonObject("limits")))
                    .withArgs(strings(g.getJsonArray("args")))
                    .withEnvironment(environment(g.getJsonObject("environment")))
                    .withPreopens(strings(g.getJsonArray("preopens")))
                    .withGenesis(HexFormat.of().parseHex(g.getString("seed")), g.getLong("timeNs"));
            String sha = g.getString("module");
            if (sha == null) {
                throw new IllegalArgumentException("no module hash");
            }
            String path = g.getString("modulePath");
            return new RecordedGenesis(config, sha, path == null ? null : Path.of(path));
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), "check the file's permissions");
        } catch (DecodeException | ClassCastException | NullPointerException | IllegalArgumentException e) {
            throw new UserError(file + " is damaged: " + e.getMessage(),
                    "restore it from a backup of the data directory; without it the log cannot be replayed");
        }
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

    /** The limits by the names of GuestLimits' components, as genesis.json stores them. */
    private static GuestLimits limits(JsonObject json) {
        RecordComponent[] components = GuestLimits.class.getRecordComponents();
        Class<?>[] types = new Class<?>[components.length];
        Object[] values = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            String name = components[i].getName();
            types[i] = components[i].getType();
            Number n = json.getNumber(name);
            if (n == null) {
                throw new IllegalArgumentException("limits." + name + " is missing");
            }
            values[i] = types[i] == int.class ? (Object) n.intValue() : (Object) n.longValue();
        }
        try {
            return GuestLimits.class.getDeclaredConstructor(types).newInstance(values);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalArgumentException(e.getCause().getMessage());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("GuestLimits has no canonical constructor", e);
        }
    }
}
