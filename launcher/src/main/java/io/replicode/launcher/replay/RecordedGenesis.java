package io.replicode.launcher.replay;

import io.replicode.node.UserError;
import io.replicode.node.GenesisCodec;
import io.replicode.replica.GuestConfig;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An app's {@code genesis.json} read back (as {@code node/Genesis} wrote it): the guest config a replica ran
 * with, the SHA-256 of the module, and where the module was (null in data directories from before it was
 * remembered).
 */
record RecordedGenesis(GuestConfig config, String moduleSha256, Path modulePath) {

    static RecordedGenesis read(Path appDir, String app) {
        Path file = new io.replicode.node.DataDir.App(appDir).genesis();
        if (!Files.isRegularFile(file)) {
            throw new UserError("app '" + app + "' has no " + file + ": without it the log cannot be replayed",
                    "restore genesis.json from a backup of the data directory");
        }
        try {
            GenesisCodec.Recorded g = GenesisCodec.read(new JsonObject(Files.readString(file, StandardCharsets.UTF_8)), app);
            return new RecordedGenesis(g.config(), g.moduleSha256(), g.modulePath());
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage(), "check the file's permissions");
        } catch (DecodeException | ClassCastException | NullPointerException | IllegalArgumentException e) {
            throw new UserError(file + " is damaged: " + e.getMessage(),
                    "restore it from a backup of the data directory; without it the log cannot be replayed");
        }
    }
}
