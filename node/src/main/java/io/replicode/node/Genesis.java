package io.replicode.node;

import io.replicode.replica.GuestConfig;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;

/**
 * An app's genesis, kept in {@code <data>/<app>/genesis.json}: the random seed, the genesis time, the module's
 * hash and the guest configuration. Replaying the app's log is only meaningful with exactly these, so the
 * first start writes them and every later start must match them.
 */
public final class Genesis {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Genesis.class);

    private Genesis() {}

    /**
     * The guest config for {@code app}: read from the app's genesis file if it exists (and checked against
     * what this run asks for), else created with a fresh seed and the current time.
     */
    public static GuestConfig loadOrCreate(Path appDir, GuestConfig wanted, String moduleSha256, long nowNs) {
        return loadOrCreate(appDir, wanted, moduleSha256, null, nowNs);
    }

    /**
     * As above; {@code modulePath} is remembered (not compared) so offline tools such as {@code replay verify}
     * can find the module.
     */
    public static GuestConfig loadOrCreate(Path appDir, GuestConfig wanted, String moduleSha256, Path modulePath, long nowNs) {
        Path file = new DataDir.App(appDir).genesis();
        JsonObject want = GenesisCodec.describe(wanted, moduleSha256);
        try {
            Files.createDirectories(appDir);
            if (!Files.exists(file)) {
                JsonObject json = fresh(wanted, moduleSha256, modulePath, nowNs);
                write(file, json);
                return wanted.withGenesis(HexFormat.of().parseHex(json.getString("seed")), nowNs);
            }
            JsonObject have = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
            for (String key : want.fieldNames()) {
                if (key.equals("module") && upgradedTo(have).contains(want.getString(key))) {
                    continue; // the config names a module the app was upgraded to: its history is the same
                }
                if (key.equals(GenesisCodec.LISTENER_PORTS)) {
                    continue; // the genesis decides (below): a member's or a later run's own ports may differ
                }
                if (GenesisCodec.ADDED_LATER.contains(key) && !have.containsKey(key)) {
                    continue; // written before guests could bind or connect: any value agrees with that history
                }
                if (!want.getValue(key).equals(have.getValue(key))) {
                    throw new UserError("app '" + wanted.app() + "': this run's " + key + " (" + want.getValue(key)
                            + ") differs from the one its log was written with (" + have.getValue(key) + ", in " + file + ")",
                            "run with the original " + key + ", or start the app afresh with another --data directory");
                }
            }
            byte[] seed = HexFormat.of().parseHex(have.getString("seed"));
            GuestConfig kept = have.containsKey(GenesisCodec.LISTENER_PORTS)
                    ? wanted.withListenerPorts(GenesisCodec.ports(have.getJsonObject(GenesisCodec.LISTENER_PORTS))) : wanted;
            return kept.withGenesis(seed, have.getLong("timeNs"));
        } catch (IOException e) {
            throw new UserError("app '" + wanted.app() + "': cannot read or write " + file + ": " + e.getMessage(),
                    "make the data directory writable, or choose another with --data");
        } catch (DecodeException | ClassCastException | NullPointerException | IllegalArgumentException e) {
            throw new UserError("app '" + wanted.app() + "': " + file + " is damaged: " + e.getMessage(),
                    "restore it from a backup of the data directory; without it the log cannot be replayed");
        }
    }

    /**
     * The genesis of {@code app} in a cluster: one for every member, so every replica starts from the same seed and
     * time. {@code shared} publishes a genesis (as JSON text) to the cluster unless one is there already, and returns
     * the cluster's. A member without a local genesis adopts the cluster's (or, first of all, makes it); a member with
     * one must hold the cluster's, or its data belongs to another history.
     */
    public static GuestConfig clustered(Path appDir, GuestConfig wanted, String moduleSha256, Path modulePath, long nowNs,
                                        java.util.function.UnaryOperator<String> shared) {
        Path file = new DataDir.App(appDir).genesis();
        try {
            Files.createDirectories(appDir);
            if (!Files.exists(file)) {
                JsonObject cluster = new JsonObject(shared.apply(fresh(wanted, moduleSha256, modulePath, nowNs).encode()));
                if (modulePath != null) {
                    cluster.put("modulePath", modulePath.toAbsolutePath().normalize().toString());
                }
                write(file, cluster);
            } else {
                JsonObject mine = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
                JsonObject cluster = new JsonObject(shared.apply(mine.copy().put("modulePath", (String) null).encode()));
                if (!mine.getString("seed", "").equals(cluster.getString("seed")) || !mine.getLong("timeNs", -1L).equals(cluster.getLong("timeNs"))) {
                    throw new UserError("app '" + wanted.app() + "': this member's " + file + " is the genesis of another history"
                            + " than the cluster's (seed " + mine.getString("seed", "?").substring(0, 8) + "… here, "
                            + cluster.getString("seed", "?").substring(0, 8) + "… in the cluster)",
                            "give this member an empty --data directory (it then joins from a peer's snapshot), or start it"
                                    + " in the cluster it belongs to");
                }
            }
        } catch (IOException e) {
            throw new UserError("app '" + wanted.app() + "': cannot read or write " + file + ": " + e.getMessage(),
                    "make the data directory writable, or choose another with --data");
        } catch (DecodeException | ClassCastException | NullPointerException e) {
            throw new UserError("app '" + wanted.app() + "': " + file + " is damaged: " + e.getMessage(),
                    "remove the member's data directory of the app; it then joins from a peer's snapshot");
        }
        return loadOrCreate(appDir, wanted, moduleSha256, modulePath, nowNs);
    }

    /**
     * This member's genesis as the cluster shares it (without the local module path): after an upgrade the cluster's
     * copy is replaced by it, so a member that joins later with the new module in its configuration is let in.
     */
    public static String shared(Path appDir) {
        Path file = new DataDir.App(appDir).genesis();
        try {
            return new JsonObject(Files.readString(file, StandardCharsets.UTF_8)).put("modulePath", (String) null).encode();
        } catch (IOException | DecodeException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), "restore it from a backup of the data directory");
        }
    }

    /** The SHA-256 of the module the app's history began with. */
    public static String genesisModule(Path appDir) {
        Path file = new DataDir.App(appDir).genesis();
        try {
            return new JsonObject(Files.readString(file, StandardCharsets.UTF_8)).getString("module");
        } catch (IOException | DecodeException e) {
            throw new UserError("app directory " + appDir + ": cannot read " + file + ": " + e.getMessage(),
                    "restore it from a backup of the data directory");
        }
    }

    /** The modules the app was upgraded to, oldest first (genesis.json's "upgrades"). */
    static List<String> upgradedTo(JsonObject genesis) {
        List<String> out = new java.util.ArrayList<>();
        for (Object o : genesis.getJsonArray("upgrades", new io.vertx.core.json.JsonArray())) {
            out.add(((JsonObject) o).getString("module"));
        }
        return out;
    }

    /**
     * Notes in genesis.json that the app is being upgraded to {@code moduleSha256} (requested at {@code atNs}): a later
     * start may then name that module in its config. {@link #noteSwitch} adds the frame it switched at.
     */
    public static synchronized void noteUpgrade(Path appDir, String moduleSha256, long atNs) {
        Path file = new DataDir.App(appDir).genesis();
        try {
            JsonObject g = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
            io.vertx.core.json.JsonArray ups = g.getJsonArray("upgrades", new io.vertx.core.json.JsonArray());
            ups.add(new JsonObject().put("module", moduleSha256).put("requestedAtNs", atNs));
            write(file, g.put("upgrades", ups));
        } catch (IOException | DecodeException e) {
            throw new UserError("cannot note the upgrade in " + file + ": " + e.getMessage(),
                    "make the data directory writable");
        }
    }

    /**
     * Notes in genesis.json the frame from which the app runs {@code moduleSha256} (its upgrade's switch): the newest
     * upgrade to that module without a frame gets {@code fromSeq}; with none (a cluster member that did not take the
     * upgrade request itself) one is added. Every replica calls this at the switch, and again when it replays the
     * switch after a restart: a switch already noted changes nothing.
     */
    public static synchronized void noteSwitch(Path appDir, String moduleSha256, long fromSeq) {
        Path file = new DataDir.App(appDir).genesis();
        try {
            JsonObject g = new JsonObject(Files.readString(file, StandardCharsets.UTF_8));
            io.vertx.core.json.JsonArray ups = g.getJsonArray("upgrades", new io.vertx.core.json.JsonArray());
            JsonObject open = null;
            for (int i = 0; i < ups.size(); i++) {
                JsonObject u = ups.getJsonObject(i);
                if (u.getLong("fromSeq", -1L) == fromSeq) {
                    return; // noted already
                }
                if (u.getString("module").equals(moduleSha256) && !u.containsKey("fromSeq")) {
                    open = u;
                }
            }
            if (open == null) {
                ups.add(new JsonObject().put("module", moduleSha256).put("fromSeq", fromSeq));
            } else {
                open.put("fromSeq", fromSeq);
            }
            write(file, g.put("upgrades", ups));
        } catch (IOException | DecodeException | ClassCastException e) {
            // The switch happened and is in the log; only the note is missing. Said, not fatal to the replica.
            LOG.warn("cannot note the switch to module " + moduleSha256.substring(0, 12) + " at frame "
                    + fromSeq + " in " + file + ": " + e.getMessage() + ". Fix: make the data directory writable");
        }
    }

    /** A new genesis: {@link GenesisCodec#describe} plus a fresh seed, the time and (remembered only) the module's path. */
    private static JsonObject fresh(GuestConfig wanted, String moduleSha256, Path modulePath, long nowNs) {
        byte[] seed = new byte[32];
        new SecureRandom().nextBytes(seed);
        JsonObject json = GenesisCodec.describe(wanted, moduleSha256).put("seed", HexFormat.of().formatHex(seed)).put("timeNs", nowNs);
        if (modulePath != null) {
            json.put("modulePath", modulePath.toAbsolutePath().normalize().toString());
        }
        return json;
    }

    /** Writes {@code json} to {@code file} atomically (a temporary file moved over it). */
    private static void write(Path file, JsonObject json) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, json.encodePrettily(), StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
