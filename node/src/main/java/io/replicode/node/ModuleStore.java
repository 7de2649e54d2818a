package io.replicode.node;

import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every module an app has run, by the SHA-256 of its bytes: {@code <data>/<app>/modules/<sha256>.wasm}
 * ({@link DataDir.App#modules}). The genesis module is stored at the first start, an upgrade's module before the
 * upgrade is sequenced, so a replica that restores a snapshot taken after an upgrade, replays a log across one, or is
 * rebuilt, and {@code replay verify}, all find the module each frame range ran with. Files are written to a temporary
 * name and moved, and checked against their name when loaded.
 */
public final class ModuleStore {
    private final Path dir;
    private final Engine engine;
    private final ConcurrentHashMap<String, GuestModule> loaded = new ConcurrentHashMap<>();

    public ModuleStore(Path dir, Engine engine) {
        this.dir = dir;
        this.engine = engine;
    }

    /** Stores {@code wasm} (once) and returns its SHA-256 (hex). */
    public String put(byte[] wasm) {
        String sha = sha256(wasm);
        Path file = file(sha);
        try {
            if (!Files.exists(file)) {
                Files.createDirectories(dir);
                Path tmp = dir.resolve(sha + ".wasm.tmp");
                Files.write(tmp, wasm);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("module store " + dir + ": cannot write " + file.getFileName() + ": "
                    + e.getMessage(), e);
        }
        return sha;
    }

    /** The module with this SHA-256, loaded for this node's engine, or null when the app never ran it here. */
    public GuestModule get(String sha256) {
        GuestModule m = loaded.get(sha256);
        if (m != null) {
            return m;
        }
        byte[] wasm;
        try {
            wasm = Files.readAllBytes(file(sha256));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("module store " + dir + ": cannot read " + sha256 + ".wasm: " + e.getMessage(), e);
        }
        if (!sha256(wasm).equals(sha256)) {
            throw new IllegalStateException("module store " + dir + ": " + sha256 + ".wasm does not have that hash (the file"
                    + " was changed). Fix: put the original module back, or remove the file and upgrade to it again");
        }
        m = GuestModule.load(wasm, engine);
        loaded.put(sha256, m);
        return m;
    }

    /** Whether the store holds this module. */
    public boolean has(String sha256) {
        return loaded.containsKey(sha256) || Files.exists(file(sha256));
    }

    public Path directory() {
        return dir;
    }

    private Path file(String sha256) {
        if (!sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a module hash: '" + sha256 + "'");
        }
        return dir.resolve(sha256 + ".wasm");
    }

    /** Hex SHA-256 of a module's bytes: its name in the store, and the hash upgrades and snapshots name it by. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
