package io.replicode.node;

import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.verticle.ReplicaVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The replicas of one app in one process (an embedded node or a cluster member): replica {@code r} is deployed as a
 * verticle and keeps its snapshots in {@code <app>/replica-<r>/snapshots}. The set grows and shrinks at run time
 * ({@link #scale}); both kinds of node keep their replicas here, so adding one, removing one and replacing one work the
 * same way in both.
 *
 * <p>{@link #scale} and {@link #deploy} block (they wait for deployments): call them on a worker thread, one at a time
 * per app (the nodes hold the app's lock).
 */
final class ReplicaSet {
    /** Most replicas of one app in one process. */
    static final int MAX = 16;

    /** Makes replica {@code r}'s verticle, not yet deployed, keeping its snapshots in {@code store}. */
    interface Factory {
        ReplicaVerticle replica(int r, SnapshotStore store);
    }

    /** Told when a replica joins or leaves at run time (the divergence monitor compares it, or stops waiting for it). */
    interface Changes {
        void added(int r);

        void removed(int r);
    }

    private final Vertx vertx;
    private final String app;
    private final DataDir.App dir;
    private final ReplayLog log;
    private final Factory factory;
    private final Consumer<String> say;
    private final List<ReplicaVerticle> replicas = new ArrayList<>();
    private final List<String> deployments = new ArrayList<>();
    /**
     * Replica r's snapshots at r - 1. Live and safe to read from any thread: the log's retention and a cluster member's
     * state machine read it while replicas are added or removed.
     */
    private final List<SnapshotStore> stores = new CopyOnWriteArrayList<>();

    ReplicaSet(Vertx vertx, String app, DataDir.App dir, ReplayLog log, Factory factory, Consumer<String> say) {
        this.vertx = vertx;
        this.app = app;
        this.dir = dir;
        this.log = log;
        this.factory = factory;
        this.say = say;
    }

    /** Opens the snapshot stores of replicas 1..{@code n}, before any is deployed. */
    ReplicaSet open(int n) {
        for (int r = stores.size() + 1; r <= n; r++) {
            stores.add(new SnapshotStore(dir.snapshots(r), 2));
        }
        return this;
    }

    /** The snapshot stores, replica r's at r - 1: a live list. */
    List<SnapshotStore> stores() {
        return stores;
    }

    /** How many replicas the set has (deployed, or opened and about to be). */
    int size() {
        return stores.size();
    }

    boolean isEmpty() {
        return stores.isEmpty();
    }

    /** The deployed replicas, replica r at r - 1. */
    synchronized List<ReplicaVerticle> running() {
        return List.copyOf(replicas);
    }

    /** Replica 1, or null when none is deployed. */
    synchronized ReplicaVerticle first() {
        return replicas.isEmpty() ? null : replicas.get(0);
    }

    /** Deploys every opened replica that is not deployed yet, each from its stored snapshot and the log. */
    void deployAll() {
        for (int r = 1; r <= stores.size(); r++) {
            deploy(r, null);
        }
    }

    /**
     * Deploys replica {@code r} (in place of an undeployed one, or as the next), starting from {@code state} handed over
     * in memory, or from its newest stored snapshot when null. Blocks until deployed.
     */
    ReplicaVerticle deploy(int r, SnapshotStore.Stored state) {
        ReplicaVerticle v = factory.replica(r, stores.get(r - 1));
        if (state != null) {
            v.startingFrom(state);
        }
        String id = NodeParts.await(vertx.deployVerticle(v));
        synchronized (this) {
            if (replicas.size() >= r) {
                replicas.set(r - 1, v);
                deployments.set(r - 1, id);
            } else {
                replicas.add(v);
                deployments.add(id);
            }
        }
        return v;
    }

    /** Undeploys replica {@code r}, keeping its place (it is deployed again with {@link #deploy}). */
    Future<Void> undeploy(int r) {
        String id;
        synchronized (this) {
            id = deployments.get(r - 1);
        }
        return vertx.undeploy(id);
    }

    /** Undeploys every replica, keeping their places. */
    Future<Void> undeployAll() {
        List<String> ids;
        synchronized (this) {
            ids = List.copyOf(deployments);
        }
        return Future.join(ids.stream().map(vertx::undeploy).toList()).mapEmpty();
    }

    /** Replicas being rebuilt (guarded by itself). */
    private final java.util.Set<Integer> rebuilding = new java.util.HashSet<>();

    /**
     * Replaces replica {@code r}, found diverged at frame {@code divergedAt}: undeploys it, removes its snapshots (its
     * digest log is kept beside as evidence, for {@code replay verify --digests} and people), gives it the newest stored
     * snapshot of another replica and deploys it again (it replays the log after that snapshot); then {@code trusted}
     * runs. A rebuild of the same replica already under way is not started twice. Says what happened.
     */
    void rebuild(int r, long divergedAt, Runnable trusted) {
        synchronized (rebuilding) {
            if (!rebuilding.add(r)) {
                return;
            }
        }
        undeploy(r).compose(v -> vertx.executeBlocking(() -> {
            dir.resetReplica(r, divergedAt);
            String from = "genesis (no healthy snapshot yet)";
            for (int other = 1; other <= stores.size(); other++) {
                var latest = other == r ? java.util.Optional.<SnapshotStore.Stored>empty() : stores.get(other - 1).latest();
                if (latest.isPresent()) {
                    stores.get(r - 1).save(latest.get().seq(), latest.get().bytes());
                    from = "snapshot at frame " + latest.get().seq() + " of replica " + other;
                    break;
                }
            }
            deploy(r, null);
            return from;
        }, false)).onComplete(ar -> {
            synchronized (rebuilding) {
                rebuilding.remove(r);
            }
            if (ar.succeeded()) {
                say.accept("app '" + app + "' replica " + r + " rebuilt from " + ar.result());
                trusted.run();
            } else {
                say.accept("app '" + app + "' replica " + r + " could not be rebuilt: " + ar.cause());
            }
        });
    }

    /**
     * Adds replicas until there are {@code wanted} (each starts from a copy of a running replica's state, handed over in
     * memory, plus the frames since; from the newest stored snapshot when the running module cannot snapshot) or removes the
     * newest ones (their directories are deleted). Each new replica's join time is measured from the request to the
     * moment it has applied every frame that was in the log when it was deployed. The count is remembered across restarts
     * ({@link #countAtStart}; {@code configured} is the configuration's). Blocks; answers what changed.
     */
    JsonObject scale(int wanted, int configured, Changes changes) throws Exception {
        if (wanted < 1 || wanted > MAX) {
            throw new IllegalArgumentException("an app runs 1.." + MAX + " replicas in one process, not " + wanted);
        }
        int was = size();
        JsonArray joined = new JsonArray();
        JsonArray removed = new JsonArray();
        while (size() < wanted) {
            int r = size() + 1;
            long t0 = System.nanoTime();
            deleteTree(dir.replica(r)); // what a replica of that number left when it was removed
            SnapshotStore store = new SnapshotStore(dir.snapshots(r), 2);
            Live live = liveState();
            long copied = System.nanoTime();
            String from = live != null ? "a copy of replica " + live.replica() + "'s state at frame " + live.state().seq()
                    : storedStartingPoint(store);
            stores.add(store);
            ReplicaVerticle fresh = deploy(r, live == null ? null : live.state());
            long deployed = System.nanoTime();
            changes.added(r);
            long target = log.lastSeq();
            long applied = awaitApplied(fresh, target);
            long end = System.nanoTime();
            long ms = (end - t0) / 1_000_000;
            // Where the time went: the copy of a running replica's state, the new replica's start (restoring it), and
            // the frames sequenced meanwhile.
            String parts = "copy " + (copied - t0) / 1_000_000 + " ms, start " + (deployed - copied) / 1_000_000
                    + " ms (restore " + fresh.restoreMs() + " ms), " + (live == null ? "" : (applied - live.state().seq())
                    + " frame(s) applied since the copy, the last ") + (end - deployed) / 1_000_000 + " ms after the start";
            say.accept("app '" + app + "' replica " + r + " added from " + from + "; it applied frame " + applied + " "
                    + ms + " ms after the request (" + parts + ")");
            joined.add(new JsonObject().put("replica", r).put("from", from).put("appliedFrame", applied).put("joinMs", ms)
                    .put("parts", parts));
            if (live != null) {
                // Stored after the join, off its path: a restart then finds the state the replica began with.
                store.save(live.state().seq(), GuestMachine.compress(live.state().bytes()));
            }
        }
        while (size() > wanted) {
            int r = size();
            NodeParts.await(undeploy(r));
            synchronized (this) {
                replicas.remove(r - 1);
                deployments.remove(r - 1);
            }
            stores.remove(r - 1);
            changes.removed(r);
            deleteTree(dir.replica(r));
            say.accept("app '" + app + "' replica " + r + " removed");
            removed.add(r);
        }
        remember(dir, wanted, configured);
        return new JsonObject().put("status", 200).put("app", app).put("was", was).put("replicas", wanted)
                .put("joined", joined).put("removed", removed);
    }

    /**
     * How many replicas the app starts with: the count last set by {@link #scale}, kept in {@code <app>/replicas.json}
     * with the configured count it overrode; the configured count when it was never scaled, or when the configuration
     * changed its count since (a newer decision than the scale).
     */
    static int countAtStart(DataDir.App dir, int configured, Consumer<String> say) {
        Path file = dir.scaled();
        if (!Files.exists(file)) {
            return configured;
        }
        try {
            JsonObject j = new JsonObject(Files.readString(file, java.nio.charset.StandardCharsets.UTF_8));
            int scaled = j.getInteger("replicas");
            if (j.getInteger("configured") != configured) {
                Files.delete(file);
                say.accept("the configuration now asks for " + configured + " replica(s) of '" + dir.dir().getFileName()
                        + "' (it asked for " + j.getInteger("configured") + " when `replicode scale` set " + scaled
                        + "): the configured count runs");
                return configured;
            }
            if (scaled < 1 || scaled > MAX) {
                throw new IllegalArgumentException("replicas " + scaled + " is outside 1.." + MAX);
            }
            if (scaled != configured) {
                say.accept("'" + dir.dir().getFileName() + "' runs " + scaled + " replica(s), as `replicode scale` set"
                        + " (the configuration says " + configured + "; " + file + " remembers the scale)");
            }
            return scaled;
        } catch (IOException | RuntimeException e) {
            say.accept("cannot read " + file + " (" + e.getMessage() + "): the configured " + configured
                    + " replica(s) run. Fix: scale again, or remove the file");
            return configured;
        }
    }

    /** Keeps the count {@link #scale} set, beside the configured one, for the next start ({@link #countAtStart}). */
    private static void remember(DataDir.App dir, int replicas, int configured) throws IOException {
        Path file = dir.scaled();
        if (replicas == configured) {
            Files.deleteIfExists(file);
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, new JsonObject().put("replicas", replicas).put("configured", configured).encodePrettily(),
                java.nio.charset.StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** A running replica's state, copied between frames, and which replica gave it. */
    private record Live(int replica, SnapshotStore.Stored state) {}

    /**
     * A copy of a running replica's state now (a new replica then has only the frames since to apply; a stored snapshot
     * may be thousands of frames old under load), or null when no replica gives one (the running module cannot snapshot,
     * or every replica is stopping).
     */
    private Live liveState() {
        List<ReplicaVerticle> running = running();
        for (int i = 0; i < running.size(); i++) {
            try {
                return new Live(i + 1, NodeParts.await(running.get(i).snapshotNow()));
            } catch (RuntimeException e) {
                // that replica is stopping or cannot snapshot: the next one
            }
        }
        return null;
    }

    /** Puts the newest stored snapshot of a running replica into {@code store}; says which (or genesis). */
    private String storedStartingPoint(SnapshotStore store) {
        for (SnapshotStore other : stores) {
            var latest = other.latest();
            if (latest.isPresent()) {
                store.save(latest.get().seq(), latest.get().bytes());
                return "the snapshot at frame " + latest.get().seq();
            }
        }
        return "genesis";
    }

    /** Waits (at most 60 s) until {@code replica} has applied frame {@code seq}; returns the frame it is at. */
    private static long awaitApplied(ReplicaVerticle replica, long seq) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            long at = replica.appliedSeq();
            if (at >= seq || System.nanoTime() > deadline) {
                return at;
            }
            Thread.sleep(1);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
