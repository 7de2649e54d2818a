package io.replicode.launcher;

import io.replicode.node.UserError;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replicode upgrade --app APP --module FILE}: asks a running node to upgrade an app to another module, keeping
 * its files. The node first runs the new module on the app's recorded traffic (the canary); if that passes, every
 * replica switches at the same frame. Then this waits until the node's status shows the new module running.
 */
@Command(name = "upgrade", mixinStandardHelpOptions = true,
        description = {"Upgrades an app to another module without losing its data.",
                "The node replays the app's traffic since its last snapshot through the new module (the canary) and",
                "refuses a module that fails there, or whose answers differ (unless --accept-differences). Then every",
                "replica switches at the same frame: the old guest's listeners hang up, it saves under /data and",
                "exits (within --grace-frames), and the new module starts on the same files. Open connections are",
                "reset at the switch."},
        footer = {"", "Exit status: 0 upgraded, 1 refused (or not seen running in time), 2 usage, I/O or connection error."})
public final class UpgradeCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    AdminAccess access = new AdminAccess();

    @Spec
    CommandSpec spec;

    @Option(names = "--app", required = true, paramLabel = "APP", description = "The app to upgrade.")
    String app;

    @Option(names = "--module", required = true, paramLabel = "FILE", description = "The new module (.wasm).")
    Path module;

    @Option(names = "--node", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "The node's HTTP address (default: ${DEFAULT-VALUE}).")
    String node;

    @Option(names = "--accept-differences",
            description = "Upgrade even if the new module answers recorded requests differently (a new version may on purpose).")
    boolean acceptDifferences;

    @Option(names = "--grace-frames", paramLabel = "N", defaultValue = "50",
            description = "Frames the old guest has to save and exit (default: ${DEFAULT-VALUE}).")
    int graceFrames;

    @Option(names = "--canary-frames", paramLabel = "N", defaultValue = "10000",
            description = "Recorded frames (since the newest snapshot) the canary replays at most (default: ${DEFAULT-VALUE}).")
    int canaryFrames;

    @Option(names = "--wait-seconds", paramLabel = "S", defaultValue = "60",
            description = "How long to wait for the new module to run (default: ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        byte[] wasm = read(module);
        AdminClient admin = access.client(node);
        long t0 = System.nanoTime();
        if (canaryFrames < 1) {
            throw new UserError("--canary-frames must be at least 1, got " + canaryFrames, "pass e.g. --canary-frames 10000");
        }
        AdminClient.Answer answer = admin.post("/admin/apps/" + app + "/upgrade?graceFrames=" + graceFrames
                + "&canaryFrames=" + canaryFrames + (acceptDifferences ? "&acceptDifferences=true" : ""), wasm,
                Duration.ofMinutes(10));
        JsonObject body = answer.json();
        JsonObject canary = body.getJsonObject("canary");
        if (canary != null) {
            out.println(describe(canary));
        }
        if (answer.status() == 400 || answer.status() == 409) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("error: " + body.getString("error", answer.body().strip()));
            err.println("Fix: " + body.getString("fix", "see the node's log"));
            err.flush();
            out.flush();
            return 1;
        }
        if (answer.status() != 202) {
            throw answer.refused("upgrade of app '" + app + "' refused by " + admin.base(), "check the node's log");
        }
        String sha = body.getString("module");
        out.println("upgrade of '" + app + "' to module " + sha.substring(0, 12) + "… requested at " + admin.base()
                + " (grace " + graceFrames + " frames)");
        out.flush();
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonObject state = admin.appStatus(app);
            if (state != null && sha.equals(state.getString("module")) && "running".equals(state.getString("state"))) {
                out.println("'" + app + "' " + state.getString("lastUpgrade") + " (" + (System.nanoTime() - t0) / 1_000_000
                        + " ms after the request)");
                out.flush();
                return 0;
            }
            Thread.sleep(500); // /status answers a client twice a second
        }
        out.println("'" + app + "' was not seen running module " + sha.substring(0, 12) + "… within " + waitSeconds
                + " s; see " + admin.base() + "/status");
        return 1;
    }

    private static String describe(JsonObject c) {
        StringBuilder b = new StringBuilder("canary: " + c.getLong("frames") + " recorded frame(s) from frame "
                + c.getLong("fromFrame") + " replayed with the new module (" + c.getLong("ms") + " ms)");
        if (c.getString("switch") != null) {
            b.append("; switch: ").append(c.getString("switch"));
        }
        if (c.getString("fault") != null) {
            b.append("; FAULT: ").append(c.getString("fault"));
        }
        JsonObject d = c.getJsonObject("difference");
        if (d != null) {
            b.append("; first difference at frame ").append(d.getLong("frame")).append(", connection ")
                    .append(d.getString("connection")).append(", offset ").append(d.getLong("offset")).append(": recorded ")
                    .append(d.getString("recorded")).append(", new module ").append(d.getString("canary"));
        } else if (c.getString("fault") == null) {
            b.append("; no client-visible difference");
        }
        return b.toString();
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UserError("module file " + file + " does not exist", "pass the new .wasm with --module FILE");
        } catch (IOException e) {
            throw new UserError("module file " + file + " cannot be read: " + e.getMessage(), "check the file's permissions");
        }
    }
}
