package io.replicode.node;

import io.replicode.nat.ConnectionIds;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.module.ModuleRejectedException;
import io.replicode.sequencer.SequencerVerticle;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A node's part of an upgrade, the same in an embedded node and a cluster member: the new module loads (instrumented
 * like any other), its canary on the app's recorded traffic passes (or its client-visible differences are accepted),
 * and it is stored where every replica finds it by hash. The answer is what the gateway's admin API replies, with an
 * HTTP {@code status}: 202 (the gateway then sequences the switch), 400 (the module is refused at load) or 409 (the
 * canary refused it). Nothing here touches the running app.
 *
 * @param app      the app's name
 * @param dir      the app's data directory (its genesis.json notes the upgrade)
 * @param base     the module the app's history began with
 * @param genesis  the app's guest configuration with its seed and time
 * @param modules  the app's modules by hash
 * @param log      the app's replay log on this node
 * @param snapshots the snapshots of one of this node's replicas of the app
 */
public record Upgrades(String app, Path dir, GuestModule base, GuestConfig genesis, ModuleStore modules, ReplayLog log,
                       SnapshotStore snapshots) {

    /** The grace a request gives in its {@code graceFrames} header (set by the gateway), or the gateway's default. */
    public static int graceFrames(String header) {
        return header == null || header.isEmpty() ? io.replicode.gateway.GatewayVerticle.DEFAULT_GRACE_FRAMES
                : Integer.parseInt(header);
    }

    /** The canary window a request asks for in its {@code canaryFrames} header (digits, checked by the gateway), or the default. */
    public static int canaryFrames(String header) {
        return header == null || header.isEmpty() ? Canary.DEFAULT_WINDOW_FRAMES : Integer.parseInt(header);
    }

    /**
     * Checks and stores {@code wasm}; the canary replays at most {@code canaryFrames} frames and gives the old guest the
     * upgrade's {@code graceFrames}; {@code say} hears its report (the node's log).
     */
    public JsonObject check(byte[] wasm, boolean acceptDifferences, int canaryFrames, int graceFrames, Engine engine,
                            Consumer<String> say) {
        GuestModule next;
        try {
            next = GuestModule.load(wasm, engine);
        } catch (ModuleRejectedException e) {
            return new JsonObject().put("status", 400).put("error", "app '" + app + "': the new module is refused: " + e.what())
                    .put("fix", e.fixOr("rebuild the module for wasm32-wasi"));
        }
        long t0 = System.nanoTime();
        Canary.Report canary = Canary.run(base, genesis, modules::get, next, log, snapshots, canaryFrames, graceFrames);
        JsonObject report = canary.json().put("ms", (System.nanoTime() - t0) / 1_000_000);
        say.accept("replicode: app '" + app + "': canary of module " + next.sha256().substring(0, 12) + ": " + report.encode());
        if (canary.fault() != null) {
            return new JsonObject().put("status", 409).put("canary", report)
                    .put("error", "app '" + app + "': the new module fails on the app's recorded traffic: " + canary.fault())
                    .put("fix", "fix the module and try again; the app runs on unchanged");
        }
        if (canary.difference() != null && !acceptDifferences) {
            Canary.Difference d = canary.difference();
            return new JsonObject().put("status", 409).put("canary", report)
                    .put("error", "app '" + app + "': clients would see other answers from frame " + d.frame() + " on ("
                            + "connection " + ConnectionIds.format(d.connection()) + ", offset " + d.offset() + ": recorded "
                            + d.recorded() + ", new module " + d.canary() + ")")
                    .put("fix", "if the new version answers differently on purpose, upgrade with --accept-differences;"
                            + " the app runs on unchanged");
        }
        String sha = modules.put(wasm);
        Genesis.noteUpgrade(dir, sha, SequencerVerticle.wallClockNs());
        return new JsonObject().put("status", 202).put("app", app).put("module", sha).put("canary", report);
    }
}
