package io.replicode.launcher.replay;

import io.replicode.node.UserError;
import io.replicode.replay.LogCorruptedException;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What {@code replicode run} left of one app in a data directory ({@code docs/operations.md}): its replay
 * log, genesis, and per replica a digest log and snapshots. Opening checks the log as a restart does: a
 * torn tail is reported (and left alone: the log is opened read-only), corruption is a {@link UserError}
 * naming file and offset.
 */
final class RecordedApp implements AutoCloseable {
    private final String app;
    private final Path dir;
    private final ReplayLog log;

    private RecordedApp(String app, Path dir, ReplayLog log) {
        this.app = app;
        this.dir = dir;
        this.log = log;
    }

    static RecordedApp open(Path data, String app) {
        Path dir = appDir(data, app);
        Path logDir = new io.replicode.node.DataDir.App(dir).log();
        if (!hasSegments(logDir)) {
            throw new UserError("app '" + app + "' has no replay log in " + logDir + " (no *.log segments)",
                    "replay the data directory of a node that ran the app (replicode run --data DIR)");
        }
        try {
            // Read-only: the offline tools never change a log (a torn tail is reported, not cut), so they are
            // safe on the data directory of a running node.
            return new RecordedApp(app, dir, ReplayLog.openReadOnly(logDir, app));
        } catch (LogCorruptedException e) {
            throw corrupt(e);
        } catch (UncheckedIOException e) {
            throw new UserError(e.getMessage(), "check that the data directory is readable");
        }
    }

    /** A corrupt log or digest log as a user error: its message already names file, offset and a Fix. */
    static UserError corrupt(LogCorruptedException e) {
        return new UserError(e.what(), e.fixOr("restore the data directory from a backup"));
    }

    /** {@code <data>/<app>}, checked to exist; the error lists the apps that do. */
    private static Path appDir(Path data, String app) {
        if (!Files.isDirectory(data)) {
            throw new UserError("data directory " + data.toAbsolutePath().normalize() + " does not exist",
                    "pass the directory that replicode run used with --data DIR (its default is ./data)");
        }
        Path dir = data.resolve(app);
        if (!Files.isDirectory(dir)) {
            List<String> apps = apps(data);
            throw new UserError("no app '" + app + "' in data directory " + data.toAbsolutePath().normalize()
                    + (apps.isEmpty() ? " (it holds no app)" : " (it holds: " + String.join(", ", apps) + ")"),
                    apps.isEmpty() ? "pass the directory that replicode run used with --data DIR"
                            : "pass one of them with --app, e.g. --app " + apps.get(0));
        }
        return dir;
    }

    private static List<String> apps(Path data) {
        try (Stream<Path> s = Files.list(data)) {
            return s.filter(p -> Files.isDirectory(new io.replicode.node.DataDir.App(p).log())).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean hasSegments(Path logDir) {
        if (!Files.isDirectory(logDir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(logDir)) {
            return s.anyMatch(p -> p.getFileName().toString().matches("\\d{20}\\.log"));
        } catch (IOException e) {
            return false;
        }
    }

    String app() {
        return app;
    }

    Path dir() {
        return dir;
    }

    ReplayLog log() {
        return log;
    }

    /** What opening cut off the log's end (a torn write), or null. */
    String tornTail() {
        return log.recovery().tornTail();
    }

    RecordedGenesis genesis() {
        return RecordedGenesis.read(dir, app);
    }

    /** Numbers of the replicas that left a directory, ascending. */
    List<Integer> replicas() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("replica-\\d{1,6}"))
                    .map(n -> Integer.parseInt(n.substring("replica-".length()))).sorted().toList();
        } catch (IOException e) {
            throw new UserError("cannot list " + dir + ": " + e.getMessage(), "check the directory's permissions");
        }
    }

    Path digests(int replica) {
        return new io.replicode.node.DataDir.App(dir).digests(replica);
    }

    /** The newest snapshot replica {@code replica} kept, if any. */
    Optional<SnapshotStore.Stored> latestSnapshot(int replica) {
        Path snapshots = new io.replicode.node.DataDir.App(dir).snapshots(replica);
        if (!Files.isDirectory(snapshots)) {
            return Optional.empty();
        }
        try {
            return new SnapshotStore(snapshots, 1).latest();
        } catch (UncheckedIOException e) {
            throw new UserError(e.getMessage(), "check the directory's permissions, or verify from genesis without --from-snapshot");
        }
    }

    @Override
    public void close() {
        log.close();
    }
}
