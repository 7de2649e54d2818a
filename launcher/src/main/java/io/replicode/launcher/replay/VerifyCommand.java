package io.replicode.launcher.replay;

import io.replicode.node.UserError;
import io.replicode.replay.LogCorruptedException;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.SnapshotException;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.module.ModuleRejectedException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code replicode replay verify}: re-executes an app's recorded frames and names the first frame that differs. */
@Command(name = "verify",
        description = {"Re-executes an app's recorded frames and names the first divergence.",
                "",
                "Runs the recorded frames of APP in a fresh machine and compares",
                "each frame's outputs (and every 100th frame's state) with what a replica",
                "recorded. Stops at the first divergence and shows that frame, its events",
                "and the differing bytes. With another --module, runs it beside the",
                "recorded module on the recorded traffic and shows where their outputs",
                "first differ: a canary before an upgrade."},
        sortOptions = false,
        footer = {"",
                "Exit status: 0 no divergence (or the canary matches), 1 a divergence",
                "(or the canary differs), 2 a usage error, a missing or corrupt data",
                "directory.",
                "",
                "Examples:",
                "  ./replicode replay verify --app kv",
                "  ./replicode replay verify --data /srv/data --app kv --from-snapshot",
                "  ./replicode replay verify --app kv --module kv_server-v2.wasm"})
final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "The node's data directory (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("data");

    @Option(names = "--app", paramLabel = "APP", required = true, description = "The app whose log to verify.")
    String app;

    @Option(names = "--module", paramLabel = "FILE",
            description = {"The recorded module (same SHA-256), if genesis.json",
                    "does not find it; any other module is a canary."})
    Path module;

    @Option(names = "--from-snapshot",
            description = {"Start from the replica's newest snapshot, not",
                    "genesis: verify only the frames after it."})
    boolean fromSnapshot;

    @Option(names = "--replica", paramLabel = "N",
            description = {"Compare with replica N's digests (default: the",
                    "first replica that recorded them)."})
    Integer replica;

    @Option(names = "--digests", paramLabel = "FILE",
            description = {"Compare with this digest log instead of a replica's current one",
                    "(e.g. the digests.diverged-at-SEQ.log a rebuilt replica left behind)."})
    Path digestsFile;

    @Option(names = "--engine", paramLabel = "compiler|interpreter",
            description = "How the guest runs (default: compiler).")
    Engine engine = Engine.COMPILER;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** The modules to run: the recorded one, and a canary or null. */
    private record Modules(GuestModule recorded, Path recordedPath, GuestModule canary, Path canaryPath) {}

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (RecordedApp rec = RecordedApp.open(data, app)) {
            return verify(rec, out);
        } catch (LogCorruptedException e) {
            throw RecordedApp.corrupt(e);
        } catch (UncheckedIOException e) {
            throw new UserError(e.getMessage(), "check that the data directory is readable");
        }
    }

    /** The app's modules by hash (its genesis module and the ones it was upgraded to), as the node stored them. */
    private io.replicode.node.ModuleStore store;

    private int verify(RecordedApp rec, PrintWriter out) {
        store = new io.replicode.node.ModuleStore(new io.replicode.node.DataDir.App(rec.dir()).modules(), engine);
        ReplayLog log = rec.log();
        out.println("replay verify: app '" + app + "' in " + data.toAbsolutePath().normalize() + ", log frames "
                + FrameText.count(log.firstSeq()) + ".." + FrameText.count(log.lastSeq()));
        if (rec.tornTail() != null) {
            out.println("replay log: " + rec.tornTail());
        }
        RecordedGenesis genesis = rec.genesis();
        Modules modules = modules(genesis);
        out.println("module " + modules.recordedPath() + " (sha256 " + modules.recorded().sha256().substring(0, 12) + ", "
                + engine.name().toLowerCase() + (modules.recorded().snapshotCapable() ? ", asyncify)" : ", thread)"));
        if (modules.canary() != null) {
            out.println("canary " + modules.canaryPath() + " (sha256 " + modules.canary().sha256().substring(0, 12)
                    + "): runs beside it on the same frames");
        }
        int n = replica(rec, modules.canary() != null);
        RecordedDigests digests = null;
        if (digestsFile != null) {
            if (!Files.isRegularFile(digestsFile)) {
                throw new UserError("digest log " + digestsFile + " does not exist", "check the path given with --digests");
            }
            digests = RecordedDigests.open(digestsFile);
            out.println("comparing with " + digestsFile);
        } else if (n > 0 && Files.isRegularFile(rec.digests(n))) {
            digests = RecordedDigests.open(rec.digests(n));
            out.println("comparing with replica " + n + "'s digests: " + digests.file()
                    + (replica == null ? " (--replica N picks another)" : ""));
        }
        GuestMachine machine = null;
        GuestMachine canary = null;
        try {
            machine = create(modules.recorded(), genesis);
            long from = start(rec, n, machine, modules, out);
            if (modules.canary() != null) {
                canary = create(modules.canary(), genesis);
            }
            long to = log.lastSeq();
            long total = Math.max(0, to - from + 1);
            long t0 = System.nanoTime();
            Progress progress = new Progress(out, System.console() != null, total, t0);
            Verifier.Outcome outcome = new Verifier(log, machine, canary, digests)
                    .run(from, to, done -> progress.at(done, System.nanoTime()));
            progress.finish();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return report(outcome, n, digests, modules, seconds, out);
        } finally {
            if (machine != null) {
                machine.close();
            }
            if (canary != null) {
                canary.close();
            }
            if (digests != null) {
                digests.close();
            }
            out.flush();
        }
    }

    /** Where the replay starts (genesis, or the replica's newest snapshot restored into {@code machine}). */
    private long start(RecordedApp rec, int n, GuestMachine machine, Modules modules, PrintWriter out) {
        ReplayLog log = rec.log();
        if (!fromSnapshot) {
            if (log.firstSeq() > 1) {
                throw new UserError("app '" + app + "': the log starts at frame " + log.firstSeq()
                        + " (older frames were removed by retention), so it cannot be replayed from genesis",
                        "verify from the newest snapshot: add --from-snapshot");
            }
            out.println("from genesis: frames 1.." + FrameText.count(log.lastSeq()));
            return 1;
        }
        if (modules.canary() != null) {
            throw new UserError("--from-snapshot with a canary --module: a snapshot of the recorded module cannot start "
                    + "another module", "drop --from-snapshot: the canary runs from genesis");
        }
        if (!modules.recorded().snapshotCapable()) {
            throw new UserError("app '" + app + "': its module was not built with asyncify, so it has no snapshots",
                    "drop --from-snapshot to verify from genesis");
        }
        SnapshotStore.Stored snap = rec.latestSnapshot(n).orElseThrow(() -> new UserError("replica " + n + " of app '" + app
                + "' kept no snapshot (" + new io.replicode.node.DataDir.App(rec.dir()).snapshots(n) + " is empty)",
                "drop --from-snapshot to verify from genesis, or pick a replica that has one with --replica N"));
        try {
            machine.restore(snap.bytes());
        } catch (SnapshotException | IllegalStateException e) {
            throw new UserError("replica " + n + "'s snapshot at frame " + snap.seq() + " does not restore: " + e.getMessage(),
                    "drop --from-snapshot to verify from genesis, or use another replica's snapshot with --replica N");
        }
        long from = snap.seq() + 1;
        if (from < log.firstSeq()) {
            throw new UserError("replica " + n + "'s snapshot is at frame " + snap.seq() + " but the log starts at frame "
                    + log.firstSeq(), "use another replica's snapshot with --replica N");
        }
        out.println("from replica " + n + "'s snapshot at frame " + FrameText.count(snap.seq()) + ": frames "
                + FrameText.count(from) + ".." + FrameText.count(log.lastSeq()));
        return from;
    }

    private int report(Verifier.Outcome outcome, int n, RecordedDigests digests, Modules modules, double seconds,
                       PrintWriter out) {
        if (outcome instanceof Verifier.Diverged d) {
            out.print(DivergenceReport.of(d, n));
            out.println("verify: " + FrameText.count(d.framesBefore()) + " frames agreed before frame "
                    + FrameText.count(d.frame().seq()) + " (" + Progress.duration(seconds) + ")");
            return 1;
        }
        if (outcome instanceof Verifier.CanaryDiffered c) {
            if (c.quiet() != null) {
                out.print(DivergenceReport.quiet(c.quiet(), modules.canaryPath().toString()));
            }
            out.print(DivergenceReport.canary(c, modules.canaryPath().toString()));
            out.println("canary: module " + modules.canaryPath() + " matches the recorded module on "
                    + FrameText.count(c.framesBefore()) + " frames, then differs at frame " + FrameText.count(c.frame().seq()));
            return 1;
        }
        Verifier.Agreed a = (Verifier.Agreed) outcome;
        long rate = seconds > 0 ? (long) (a.frames() / seconds) : 0;
        String timing = " in " + Progress.duration(seconds) + " (" + FrameText.count(rate) + " frames/s)";
        if (modules.canary() != null) {
            if (a.quiet() != null) {
                out.print(DivergenceReport.quiet(a.quiet(), modules.canaryPath().toString()));
            }
            out.println("canary: module " + modules.canaryPath() + " matches the recorded module on "
                    + FrameText.count(a.frames()) + " frames" + timing);
        }
        if (digests != null) {
            out.println("verified " + FrameText.count(a.frames()) + " frames, 0 divergences" + timing);
            if (a.unrecorded() > 0) {
                out.println("note: " + FrameText.count(a.unrecorded()) + " of them have no record in replica " + n
                        + "'s digest log (its last record is frame " + FrameText.count(digests.lastSeq())
                        + (digests.tornTail() == null ? "" : "; " + digests.tornTail()) + "): re-executed, not compared");
            }
        }
        return 0;
    }

    private Modules modules(RecordedGenesis genesis) {
        Path remembered = genesis.modulePath();
        if (module == null) {
            GuestModule stored = store.get(genesis.moduleSha256());
            if (stored != null) {
                return new Modules(stored, store.directory().resolve(genesis.moduleSha256() + ".wasm"), null, null);
            }
            if (remembered == null) {
                throw new UserError("app '" + app + "': genesis.json does not say where the module is (written by an "
                        + "earlier version)", "pass the recorded module with --module FILE (sha256 " + genesis.moduleSha256() + ")");
            }
            GuestModule m = load(remembered);
            if (!m.sha256().equals(genesis.moduleSha256())) {
                throw new UserError("module " + remembered + " changed since the log was recorded (sha256 "
                        + m.sha256().substring(0, 12) + ", recorded " + genesis.moduleSha256().substring(0, 12) + ")",
                        "pass the recorded module with --module FILE; to try the new one against the recorded traffic, "
                                + "put the recorded one back at " + remembered + " and pass the new one with --module");
            }
            return new Modules(m, remembered, null, null);
        }
        GuestModule given = load(module);
        if (given.sha256().equals(genesis.moduleSha256())) {
            return new Modules(given, module, null, null);
        }
        if (remembered == null || !Files.isRegularFile(remembered)) {
            throw new UserError("canary " + module + " runs beside the recorded module, which "
                    + (remembered == null ? "genesis.json does not locate" : "is missing at " + remembered),
                    "put the recorded module (sha256 " + genesis.moduleSha256() + ") back"
                            + (remembered == null ? "" : " at " + remembered));
        }
        GuestModule recorded = load(remembered);
        if (!recorded.sha256().equals(genesis.moduleSha256())) {
            throw new UserError("canary " + module + " runs beside the recorded module, but " + remembered
                    + " changed since the recording (sha256 " + recorded.sha256().substring(0, 12) + ", recorded "
                    + genesis.moduleSha256().substring(0, 12) + ")", "put the recorded module back at " + remembered);
        }
        return new Modules(recorded, remembered, given, module);
    }

    private GuestModule load(Path file) {
        try {
            return GuestModule.load(file, engine);
        } catch (ModuleRejectedException e) {
            throw new UserError(e.what(), e.fixOr("pass a wasm32-wasi module"));
        }
    }

    private GuestMachine create(GuestModule m, RecordedGenesis genesis) {
        try {
            // A module the app was upgraded to is found by its hash, as the replicas find it.
            return GuestMachine.create(m, genesis.config()).withModules(store::get);
        } catch (ModuleRejectedException e) {
            throw new UserError("app '" + app + "': " + e.what(), e.fixOr("pass a wasm32-wasi module"));
        }
    }

    /** The replica whose record to compare with (0: none, only for a canary). */
    private int replica(RecordedApp rec, boolean canary) {
        List<Integer> replicas = rec.replicas();
        if (replica != null) {
            if (!replicas.contains(replica)) {
                throw new UserError("app '" + app + "' has no replica " + replica + " in " + rec.dir()
                        + (replicas.isEmpty() ? "" : " (it has " + replicas + ")"), "pick one of them with --replica N");
            }
            if (!Files.isRegularFile(rec.digests(replica)) && !canary) {
                throw new UserError("replica " + replica + " of app '" + app + "' recorded no digests ("
                        + rec.digests(replica) + " is missing)", "pick another replica with --replica N");
            }
            return replica;
        }
        for (int r : replicas) {
            if (Files.isRegularFile(rec.digests(r))) {
                return r;
            }
        }
        if (canary) {
            return replicas.isEmpty() ? 0 : replicas.get(0);
        }
        throw new UserError("no replica of app '" + app + "' recorded digests (" + rec.dir() + "/replica-N/digests.log)",
                "run the app with a Replicode that records them (replicas do since the digest log was added), "
                        + "or compare two modules with --module");
    }
}
