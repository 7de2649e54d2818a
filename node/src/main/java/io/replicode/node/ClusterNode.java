package io.replicode.node;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.replicode.cluster.AppStateMachine;
import io.replicode.cluster.ClusterBoot;
import io.replicode.cluster.ClusterSettings;
import io.replicode.cluster.GatewayRegistry;
import io.replicode.cluster.LeaderSequencer;
import io.replicode.cluster.RaftMember;
import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.GatewayVerticle;
import io.replicode.gateway.ListenException;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.NodeConfig;
import io.replicode.nat.Frame;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.verticle.ReplicaVerticle;
import io.replicode.sequencer.SequencerVerticle;
import io.vertx.core.Future;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * One member of a Replicode cluster ({@code replicode node --cluster}): a Vert.x instance clustered with Hazelcast
 * (membership, the event bus, the cluster-wide genesis) and a Raft server (Apache Ratis, {@link RaftMember}) that
 * orders and stores every app's frames.
 *
 * <ul>
 *   <li>{@code sequencer}/{@code replica}: the member is a Raft peer of every app's group. Its state machine
 *       ({@link AppStateMachine}) applies committed frames to the member's history (its replay log), from which its
 *       {@code --replicas} replicas read; when its Raft server leads an app's group it sequences the app
 *       ({@link LeaderSequencer}). Without {@code replica} it runs no replicas (and keeps its Raft log unpurged).</li>
 *   <li>{@code gateway}: TCP and HTTP ports (plus {@code --port-offset}) and the event-bus request address, with a
 *       gateway id of its own in the cluster ({@link GatewayRegistry}).</li>
 * </ul>
 *
 * A member with neither {@code sequencer} nor {@code replica} is gateway-only: a Hazelcast lite member with no Raft
 * server; it is not listed in the data members' {@code --cluster-members}.
 */
public final class ClusterNode implements AutoCloseable {
    public static final Set<String> ROLES = Set.of("gateway", "sequencer", "replica");
    private static final long CLOSE_TIMEOUT_SECONDS = 30;
    private static final long RESEND_AFTER_MS = 2_000;
    private static final long RETENTION_EVERY_MS = 30_000;
    /** Replica ids are unique in the cluster: gateway id × this + the member's replica number. */
    public static final int MAX_REPLICAS_PER_MEMBER = 63;

    /**
     * @param roles      what this member does: a non-empty subset of {@link #ROLES}
     * @param settings   Hazelcast: this member's address, the member list, the minimum size, the ring capacity
     * @param ops        how it is operated (the admin token)
     */
    public record Options(Set<String> roles, ClusterSettings settings, io.replicode.node.config.Operations ops) {
        public Options(Set<String> roles, ClusterSettings settings) {
            this(roles, settings, io.replicode.node.config.Operations.NONE);
        }

        public Options {
            java.util.Objects.requireNonNull(ops, "ops");
            roles = Set.copyOf(roles);
            if (roles.isEmpty() || !ROLES.containsAll(roles)) {
                throw new UserError("roles " + roles + " are not a non-empty subset of " + new TreeSet<>(ROLES),
                        "give --roles gateway,sequencer,replica or a part of it");
            }
        }
    }

    private static final class AppRuntime {
        final AppConfig config;
        /** The module the app's history began with; {@link #modules} has the ones it was upgraded to. */
        GuestModule module;
        ModuleStore modules;
        Path dir;
        GuestConfig genesis;
        ReplayLog log;
        /** This member's replicas of the app (none on a member without the replica role). */
        ReplicaSet replicas;
        /** Compares this member's replicas with each other (the members' are compared by {@link #digests}). */
        volatile DivergenceMonitor monitor;
        /** Where frames that entered the member's history are handed to its replicas. */
        final io.replicode.replica.verticle.LocalFrames frames = new io.replicode.replica.verticle.LocalFrames();
        AppStateMachine machine;
        volatile LeaderSequencer sequencer;
        volatile String joinedFrom = "";
        io.replicode.cluster.MemberDigests digests;
        /** Set while this member's replicas are rebuilt from a healthy member's snapshot. */
        final java.util.concurrent.atomic.AtomicBoolean rebuilding = new java.util.concurrent.atomic.AtomicBoolean();
        volatile long rebuilds;
        volatile String lastRebuild = "";
        /** Leader changes of the app's Raft group seen by this member. */
        final java.util.concurrent.atomic.AtomicLong leaderChanges = new java.util.concurrent.atomic.AtomicLong();

        AppRuntime(AppConfig config) {
            this.config = config;
        }

        /** Replica 1 of this member, or null when it runs none. */
        ReplicaVerticle firstReplica() {
            return replicas == null ? null : replicas.first();
        }

        boolean hasReplicas() {
            return replicas != null && !replicas.isEmpty();
        }
    }

    /** How replicas' machines are made: {@link EmbeddedNode.MachineHook#NONE} but in fault-injection tests. */
    private static final java.util.concurrent.atomic.AtomicReference<EmbeddedNode.MachineHook> HOOK =
            new java.util.concurrent.atomic.AtomicReference<>(EmbeddedNode.MachineHook.NONE);

    /** For tests that run a member in its own JVM with a fault injected into its replicas (set before {@link #start}). */
    public static void useMachines(EmbeddedNode.MachineHook hook) {
        HOOK.set(hook);
    }

    private final ClusterBoot boot;
    private volatile RaftMember raft;
    /** Who leads each app's group: where this member's gateway and replicas send what is meant for its sequencer. */
    private volatile io.replicode.cluster.LeaderDirectory leaders;
    private final NodeConfig config;
    private final Options options;
    private final Map<String, AppRuntime> apps = new LinkedHashMap<>();
    /** Gateways of other members that run replicas: they take outputs from their own, so ours do not send them any. */
    private volatile Set<Integer> selfServed = Set.of();
    private final int gatewayId;
    private GatewayVerticle gateway;
    private final PrintWriter out;
    private boolean closed;
    /** The member's meters, served at /metrics by its gateway. */
    private final io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics;

    private ClusterNode(ClusterBoot boot, NodeConfig config, Options options, int gatewayId, PrintWriter out) {
        this.boot = boot;
        this.config = config;
        this.options = options;
        this.gatewayId = gatewayId;
        this.out = out;
        this.metrics = options.ops().metrics() ? NodeParts.metrics() : null;
    }

    /** Joins the cluster and starts this member's roles; mistakes the user can fix are {@link UserError}s. */
    public static ClusterNode start(NodeConfig config, Options options, PrintWriter out) {
        if (config.replicas() > MAX_REPLICAS_PER_MEMBER) {
            throw new UserError("--replicas " + config.replicas() + " on one member", "run at most "
                    + MAX_REPLICAS_PER_MEMBER + " replicas per member; add members to have more");
        }
        long t0 = System.nanoTime();
        boolean data = options.roles().contains("sequencer") || options.roles().contains("replica");
        ClusterBoot boot;
        try {
            boot = await(ClusterBoot.start(options.settings(), new VertxOptions(), !data));
        } catch (io.replicode.FixableException e) {
            throw new UserError(e.what(), "check that port " + options.settings().port()
                    + " is free and every member has the same --cluster-members");
        }
        HazelcastInstance hz = boot.hazelcast();
        ClusterNode node = null;
        try {
            int gatewayId = new GatewayRegistry(hz).allocate(boot.nodeId());
            node = new ClusterNode(boot, config, options, gatewayId, out);
            node.healAfterMerges();
            node.serveMemberRemoval();
            node.serveUpgrades();
            node.serveScaling();
            for (AppConfig app : config.apps()) {
                try {
                    node.openApp(app);
                } catch (io.replicode.FixableException e) {
                    throw new UserError("app '" + app.name() + "': " + e.what(),
                            e.fixOr("make the data directory " + config.dataDir() + " writable, or choose another with --data"));
                } catch (java.io.UncheckedIOException e) {
                    throw new UserError("app '" + app.name() + "': " + e.getMessage() + (e.getCause() == null ? ""
                            : " (" + e.getCause() + ")"), "make the data directory " + config.dataDir() + " writable, or choose another with --data");
                }
            }
            node.followSelfServedGateways(data && options.roles().contains("replica") && config.replicas() > 0);
            node.followLeaders(data);
            if (data) {
                node.startRaft();
            }
            for (AppRuntime rt : node.apps.values()) {
                node.startReplicasAndSequencer(rt);
            }
            if (options.roles().contains("gateway")) {
                node.startGateway();
            }
            node.awaitFirstFrames();
            node.describe((System.nanoTime() - t0) / 1_000_000);
            NodeParts.describeAccess(out, options.ops());
            out.flush();
            ClusterNode running = node;
            boot.vertx().setPeriodic(RETENTION_EVERY_MS, id -> boot.vertx().executeBlocking(() -> {
                for (AppRuntime rt : running.apps.values()) {
                    if (rt.log != null && rt.hasReplicas()) {
                        LogRetention.apply(rt.log, rt.replicas.stores());
                    }
                }
                return null;
            }, false));
            return node;
        } catch (RuntimeException | Error e) {
            if (node != null) {
                node.close();
            } else {
                closeQuietly(boot);
            }
            throw e;
        }
    }

    /**
     * After a split or a pause long enough for the others to remove this member, Hazelcast merges it back
     * (MERGING, MERGED). Vert.x republishes this member's consumers itself; this member puts its gateway id back in
     * the registry and, as the majority has cut this gateway's connections meanwhile, resets its clients. Both sides
     * drop their Raft connections to the other peers ({@link RaftMember#reconnect}); the member's Raft server then
     * catches up from the leader (entries or a snapshot).
     */
    private void healAfterMerges() {
        // The majority's side of a heal: the returning member shows up as added; Raft connections to it start anew.
        boot.hazelcast().getCluster().addMembershipListener(new com.hazelcast.cluster.MembershipListener() {
            @Override
            public void memberAdded(com.hazelcast.cluster.MembershipEvent e) {
                RaftMember r = raft;
                if (r != null) {
                    boot.vertx().executeBlocking(() -> {
                        r.reconnect();
                        return null;
                    }, false);
                }
            }

            @Override
            public void memberRemoved(com.hazelcast.cluster.MembershipEvent e) {
                // Raft notices by itself; nothing to reset.
            }
        });
        boot.hazelcast().getLifecycleService().addLifecycleListener(event -> {
            switch (event.getState()) {
                case MERGING -> say("cluster: this member was cut off from the cluster and is merging back");
                case MERGED -> boot.vertx().executeBlocking(() -> {
                    if (raft != null) {
                        raft.reconnect();
                    }
                    new GatewayRegistry(boot.hazelcast()).reassert(gatewayId, boot.nodeId());
                    // Its replicas missed what the majority did meanwhile: before its gateway's clients come back,
                    // the other members' replicas are asked to answer them too (the map entry is written again).
                    selfServedWritten = null;
                    markBehind("this member's replicas missed what the others did while it was cut off");
                    writeSelfServedNow();
                    if (gateway != null) {
                        gateway.rejoined("this member was cut off from the cluster; reconnect");
                    }
                    say("cluster: merged back (" + boot.clusterSize() + " members); gateway " + gatewayId
                            + " serves again, its earlier connections were reset");
                    return null;
                }, false);
                case MERGE_FAILED -> say("cluster: merging back into the cluster failed. Fix: restart this member");
                default -> {
                    // STARTING, STARTED, SHUTTING_DOWN, SHUTDOWN, CLIENT_*: nothing to do.
                }
            }
        });
    }

    /** Map of the gateways that take outputs from their own member's replicas (gateway id -> node id). */
    private static final String SELF_SERVED_MAP = "replicode.gateways.self-served";

    /**
     * Outputs from the local replica: a gateway on a member with replicas is served by them alone (no copy of every
     * output from every member crossing the network), except while they are far behind the other members' (after a
     * restart, a pause or a partition they replay what they missed, a few hundred frames a second): then the other
     * members' replicas answer its clients too, and the gateway takes each frame's outputs from whichever comes first.
     * This member says which for its own gateway, and refreshes every second which other gateways are self-served;
     * until a gateway is known to be self-served, ours send it outputs as well.
     */
    private void followSelfServedGateways(boolean mine) {
        var map = boot.hazelcast().<Integer, String>getMap(SELF_SERVED_MAP);
        selfServing = mine && options.roles().contains("gateway");
        if (selfServing) {
            long history = apps.values().stream().filter(rt -> rt.log != null).mapToLong(rt -> rt.log.lastSeq()).max().orElse(0);
            if (history > 0) {
                markBehind("this member restarted; its replicas replay its history");
            }
            writeSelfServed();
            boot.vertx().setPeriodic(BEHIND_CHECK_MS, id -> checkBehind());
        }
        // At once when an entry changes (a member falls behind and asks for our outputs), and every second (members
        // come and go).
        map.addEntryListener((com.hazelcast.map.listener.EntryAddedListener<Integer, String>) e -> refreshSelfServed(), false);
        map.addEntryListener((com.hazelcast.map.listener.EntryRemovedListener<Integer, String>) e -> refreshSelfServed(), false);
        boot.vertx().setPeriodic(1_000, id -> refreshSelfServed());
    }

    private void refreshSelfServed() {
        boot.vertx().executeBlocking(() -> {
            Set<String> live = boot.liveNodeIds();
            Set<Integer> served = new java.util.HashSet<>();
            for (var e : boot.hazelcast().<Integer, String>getMap(SELF_SERVED_MAP).entrySet()) {
                if (e.getKey() != gatewayId && live.contains(e.getValue())) {
                    served.add(e.getKey());
                }
            }
            selfServed = Set.copyOf(served);
            return null;
        }, false);
    }

    private static final long BEHIND_CHECK_MS = 500;
    /** Whether this member's gateway can be served by its own replicas (a member with both). */
    private boolean selfServing;
    /** Whether its replicas are far behind the others' (guarded by itself: the periodic check and MERGED use it). */
    private final io.replicode.cluster.CatchUpWatch catchUp = new io.replicode.cluster.CatchUpWatch();
    /** What the map says for this gateway as last written by this member (null: not yet, or to be written again). */
    private volatile Boolean selfServedWritten;

    private void checkBehind() {
        long now = System.currentTimeMillis();
        String me = raft != null ? raft.id().toString() : boot.nodeId();
        long worst = -1;
        boolean listening = false;
        for (AppRuntime rt : apps.values()) {
            ReplicaVerticle first = rt.firstReplica();
            if (first == null || rt.digests == null) {
                continue;
            }
            listening = true;
            long others = rt.digests.highestFrameOfOthers(me, now);
            if (others >= 0) {
                worst = Math.max(worst, others - first.appliedSeq());
            }
        }
        io.replicode.cluster.CatchUpWatch.Change change;
        synchronized (catchUp) {
            change = catchUp.observe(worst, listening, now);
        }
        switch (change) {
            case BEHIND -> sayBehind("this member's replicas are " + worst + " frames behind the others'");
            case CAUGHT_UP -> say("cluster: this member's replicas caught up; they alone answer its clients again");
            case NO_REPORTS -> say("cluster: no other member reported its replicas' progress within "
                    + io.replicode.cluster.CatchUpWatch.NO_REPORTS_MS / 1000
                    + " s; this member's replicas alone answer its clients");
            case NONE -> {
                // Nothing changed.
            }
        }
        if (change != io.replicode.cluster.CatchUpWatch.Change.NONE || selfServedWritten == null) {
            writeSelfServed();
        }
    }

    /**
     * This member knows its replicas missed frames ({@code why}: it was cut off, or restarted with history): the other
     * members' replicas answer its clients too until reports show it caught up. The map is written by the caller.
     */
    private void markBehind(String why) {
        if (!selfServing) {
            return;
        }
        boolean news;
        synchronized (catchUp) {
            news = catchUp.markBehind(System.currentTimeMillis());
        }
        if (news) {
            sayBehind(why);
        }
    }

    private void sayBehind(String why) {
        say("cluster: " + why + "; the other members' replicas answer this member's clients too until its own catch up");
    }

    /** {@link #writeSelfServedNow} on a worker thread. */
    private void writeSelfServed() {
        if (selfServing) {
            boot.vertx().executeBlocking(() -> {
                writeSelfServedNow();
                return null;
            }, false);
        }
    }

    /** Puts this gateway in the self-served map or takes it out, as the catch-up watch says, when that changed. */
    private void writeSelfServedNow() {
        if (!selfServing) {
            return;
        }
        boolean want;
        synchronized (catchUp) {
            want = !catchUp.behind();
        }
        if (Boolean.valueOf(want).equals(selfServedWritten)) {
            return;
        }
        try {
            var map = boot.hazelcast().<Integer, String>getMap(SELF_SERVED_MAP);
            if (want) {
                map.put(gatewayId, boot.nodeId());
            } else {
                map.remove(gatewayId);
            }
            selfServedWritten = want;
        } catch (RuntimeException e) {
            // Hazelcast unreachable (cut off, shutting down): the next check (every 500 ms) writes it again.
            selfServedWritten = null;
            say("cluster: this gateway's entry in " + SELF_SERVED_MAP + " not written (" + e.getMessage()
                    + "); trying again");
        }
    }

    /** Modules by hash, cluster-wide: an upgrade's module is here before its switch frame is sequenced. */
    static final String MODULES_MAP = "replicode.modules";

    /**
     * Offers every module this member stored for {@code rt}'s app to the cluster (a whole-cluster restart empties the
     * map; the members fill it again), so a member that joins later, or lacks an upgrade's module, fetches it by hash.
     */
    private void shareModules(AppRuntime rt) {
        var map = boot.hazelcast().<String, byte[]>getMap(MODULES_MAP);
        try (var files = java.nio.file.Files.list(rt.modules.directory())) {
            for (Path f : files.filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}\\.wasm")).toList()) {
                String sha = f.getFileName().toString().substring(0, 64);
                if (!map.containsKey(sha)) { // read and sent only when the cluster lacks it, not at every start
                    map.putIfAbsent(sha, java.nio.file.Files.readAllBytes(f));
                }
            }
        } catch (java.io.IOException e) {
            say(rt.config.name() + ": modules in " + rt.modules.directory() + " not offered to the cluster: " + e.getMessage());
        }
    }

    /**
     * The module with {@code sha} for a replica of {@code rt}'s app: from this member's store, else fetched from the
     * cluster and stored (on the replica's guest thread, which waits for it), else null.
     */
    private GuestModule module(AppRuntime rt, String sha) {
        GuestModule m = rt.modules.get(sha);
        if (m != null) {
            return m;
        }
        byte[] wasm = boot.hazelcast().<String, byte[]>getMap(MODULES_MAP).get(sha);
        if (wasm == null) {
            return null;
        }
        rt.modules.put(wasm);
        say(rt.config.name() + ": module " + sha.substring(0, 12) + " fetched from the cluster");
        return rt.modules.get(sha);
    }

    /**
     * An upgrade asked through this member's gateway: checked against this member's history of the app (canary), stored
     * here and offered to the cluster before the reply, so the module is everywhere before the switch frame commits.
     */
    private void serveUpgrades() {
        boot.vertx().eventBus().<io.vertx.core.buffer.Buffer>localConsumer(GatewayVerticle.UPGRADE_ADDRESS, m -> {
            AppRuntime rt = apps.get(m.headers().get("app"));
            boolean accept = "true".equals(m.headers().get("acceptDifferences"));
            byte[] wasm = m.body().getBytes();
            if (rt == null || !rt.hasReplicas()) {
                m.reply(new JsonObject().put("status", 409).put("error", "this member runs no replica of '"
                        + m.headers().get("app") + "', so it cannot try the new module on its traffic")
                        .put("fix", "ask a member that runs replicas (--node URL of one)"));
                return;
            }
            boot.vertx().executeBlocking(() -> {
                synchronized (rt) {
                    JsonObject r = new Upgrades(rt.config.name(), rt.dir, rt.module, rt.genesis, rt.modules, rt.log,
                            rt.replicas.stores().get(0)).check(wasm, accept, Upgrades.canaryFrames(m.headers().get("canaryFrames")),
                        Upgrades.graceFrames(m.headers().get("graceFrames")), config.engine(), this::say);
                    if (r.getInteger("status") == 202) {
                        boot.hazelcast().<String, byte[]>getMap(MODULES_MAP).put(r.getString("module"), wasm);
                        // The upgrade noted in genesis: a member joining later may name the new module in its config.
                        boot.hazelcast().<String, String>getMap("replicode.genesis").put(rt.config.name(), Genesis.shared(rt.dir));
                    }
                    return r;
                }
            }, false).onComplete(ar -> m.reply(ar.succeeded() ? ar.result() : new JsonObject().put("status", 500)
                    .put("error", "checking the upgrade failed: " + ar.cause())
                    .put("fix", "see the member's log; the app runs on unchanged")));
        });
    }

    /** Where the member at {@code hostPort} (its Hazelcast address, as listed in --cluster-members) scales its replicas. */
    private static String scaleAddress(String hostPort) {
        return "replicode.cluster.scale." + hostPort;
    }

    /**
     * {@code POST /admin/apps/<app>/scale?replicas=N[&member=HOST:PORT]} (via the gateway): this member's replicas of the
     * app, or those of the member named, whose own consumer this member asks over the event bus.
     */
    private void serveScaling() {
        ClusterSettings s = options.settings();
        String self = s.host() + ":" + s.port();
        boot.vertx().eventBus().<JsonObject>localConsumer(GatewayVerticle.SCALE_ADDRESS, m -> {
            String member = m.body().getString("member", "").strip();
            try {
                member = member.isEmpty() ? self : ClusterSettings.parseMembers(member).get(0);
            } catch (IllegalArgumentException | io.replicode.FixableException e) {
                m.reply(new JsonObject().put("status", 400).put("error", e.getMessage())
                        .put("fix", "name the member as HOST:PORT, as --cluster-members lists it"));
                return;
            }
            if (member.equals(self)) {
                scaleHere(m);
                return;
            }
            String to = member;
            boot.vertx().eventBus().<JsonObject>request(scaleAddress(to), m.body(),
                            new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(300_000))
                    .onSuccess(reply -> m.reply(reply.body()))
                    .onFailure(t -> m.reply(new JsonObject().put("status", 404).put("error", "member " + to
                                    + " did not answer (" + t.getMessage() + ")")
                            .put("fix", "name a running member with the replica role, one of " + s.members())));
        });
        boot.vertx().eventBus().<JsonObject>consumer(scaleAddress(self), this::scaleHere);
    }

    private void scaleHere(io.vertx.core.eventbus.Message<JsonObject> m) {
        ClusterSettings s = options.settings();
        AppRuntime rt = apps.get(m.body().getString("app"));
        int wanted = m.body().getInteger("replicas", 0);
        if (rt == null || !options.roles().contains("replica") || rt.replicas == null) {
            m.reply(new JsonObject().put("status", 409).put("error", "member " + s.host() + ":" + s.port() + " runs no replicas of '"
                    + m.body().getString("app") + "' (roles " + new TreeSet<>(options.roles()) + ")")
                    .put("fix", "name a member with the replica role (--member HOST:PORT)"));
            return;
        }
        if (wanted < 1 || wanted > ReplicaSet.MAX) {
            m.reply(NodeParts.scaleOutOfRange(wanted));
            return;
        }
        boot.vertx().executeBlocking(() -> {
            synchronized (rt) {
                return rt.replicas.scale(wanted, config.replicas(), rt.monitor)
                        .put("member", s.host() + ":" + s.port());
            }
        }, false).onComplete(ar -> m.reply(NodeParts.scaleAnswer(ar)));
    }

    /**
     * {@code POST /admin/cluster/remove-member?member=HOST:PORT} (via the gateway): removes that member from every
     * app's Raft group, through each group's leader. Replies with what each app's group holds now.
     */
    private void serveMemberRemoval() {
        boot.vertx().eventBus().<JsonObject>localConsumer(GatewayVerticle.REMOVE_MEMBER_ADDRESS, m -> {
            String member = m.body().getString("member", "");
            String peer;
            try {
                peer = RaftMember.peerIdOf(ClusterSettings.parseMembers(member).get(0)).toString();
            } catch (IllegalArgumentException | IndexOutOfBoundsException | io.replicode.FixableException e) {
                m.fail(400, e.getMessage());
                return;
            }
            JsonObject result = new JsonObject().put("member", member).put("peer", peer);
            List<Future<?>> all = new ArrayList<>();
            for (AppRuntime rt : apps.values()) {
                String app = rt.config.name();
                String leader = leaders.leaderOf(app);
                if (leader == null) {
                    result.put(app, new JsonObject().put("error", "no leader of '" + app + "' is known to this member now; try again"));
                    all.add(Future.failedFuture("no leader"));
                    continue;
                }
                all.add(boot.vertx().eventBus().<JsonObject>request(LeaderSequencer.removeAddress(app, leader),
                        new JsonObject().put("peer", peer), new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(30_000))
                        .onSuccess(r -> result.put(app, r.body()))
                        .onFailure(t -> result.put(app, new JsonObject().put("error", t.getMessage()))));
            }
            Future.join(all).onComplete(ar -> {
                if (ar.succeeded()) {
                    say("cluster: member " + member + " removed from the Raft groups: " + result.encode());
                    m.reply(result);
                } else {
                    m.fail(503, "not removed from every group: " + result.encode());
                }
            });
        });
    }

    /** Module, cluster-wide genesis, the member's history (log) and state machine of one app. */
    private void openApp(AppConfig app) {
        AppRuntime rt = new AppRuntime(app);
        apps.put(app.name(), rt);
        boolean replica = options.roles().contains("replica");
        boolean sequencer = options.roles().contains("sequencer");
        if (!replica && !sequencer) {
            return;
        }
        rt.module = NodeParts.loadModule(app, config);
        Path appDir = config.dataDir().resolve(app.name());
        GuestConfig wanted = NodeParts.wanted(app);
        var genesisMap = boot.hazelcast().<String, String>getMap("replicode.genesis");
        rt.genesis = Genesis.clustered(appDir, wanted, rt.module.sha256(), app.module(), SequencerVerticle.wallClockNs(), json -> {
            String had = genesisMap.putIfAbsent(app.name(), json);
            return had == null ? json : had;
        });
        rt.dir = appDir;
        rt.modules = NodeParts.moduleStore(appDir, app, config);
        rt.module = NodeParts.genesisModule(appDir, app, rt.modules);
        shareModules(rt);
        // The Raft log is the durable copy of every frame (fsynced by a majority before it commits); the member's
        // replay log is rebuilt from it after a crash, so it is written without fsync.
        rt.log = NodeParts.openLog(appDir, app, io.replicode.replay.ReplayLog.FsyncPolicy.NEVER);
        DataDir.App dir = new DataDir.App(appDir);
        rt.replicas = new ReplicaSet(boot.vertx(), app.name(), dir, rt.log, (r, store) -> newReplica(rt, r, store).withMeters(metrics),
                line -> say(app.name() + ": " + line)).open(replica ? ReplicaSet.countAtStart(dir, config.replicas(), this::say) : 0);
        if (metrics != null) {
            io.micrometer.core.instrument.FunctionCounter.builder("replicode.consensus.leader.changes", rt.leaderChanges,
                    java.util.concurrent.atomic.AtomicLong::get).description("Leader changes of the app's Raft group seen here")
                    .tag("app", app.name()).register(metrics);
        }
        rt.machine = new AppStateMachine(app.name(), rt.log, rt.replicas.stores(), new AppStateMachine.Listener() {
            @Override
            public void applied(Frame frame, byte[] bytes) {
                rt.frames.deliver(frame);
            }

            @Override
            public void leaderReady(long term) {
                LeaderSequencer s = rt.sequencer;
                if (s != null) {
                    s.leaderReady(term);
                }
                genesisMap.putIfAbsent(GROUP_FORMED_PREFIX + app.name(), "term " + term);
            }

            @Override
            public void leaderChanged(String leader, long term) {
                rt.leaderChanges.incrementAndGet();
                io.replicode.cluster.LeaderDirectory d = leaders;
                if (d != null) {
                    d.leaderChanged(app.name(), leader);
                }
                LeaderSequencer s = rt.sequencer;
                if (s != null) {
                    s.leaderChanged(leader, term);
                }
            }

            @Override
            public void installed(long seq) {
                rt.joinedFrom = "a snapshot at frame " + seq + " installed by the leader";
                say(app.name() + ": history continues from " + rt.joinedFrom);
                if (rt.firstReplica() != null) {
                    restartReplicas(rt);
                }
            }
        });
    }

    /** Key in the genesis map saying an app's Raft group was formed (a member starting later joins it). */
    private static final String GROUP_FORMED_PREFIX = "raft-group:";

    /**
     * Starts this member's Raft server: groups in its storage are recovered; an app's group missing there is formed
     * from the member list when the cluster never formed it, or joined (this member asks the leader to add it).
     */
    private void startRaft() {
        Map<org.apache.ratis.protocol.RaftGroupId, AppStateMachine> byGroup = new LinkedHashMap<>();
        for (AppRuntime rt : apps.values()) {
            byGroup.put(RaftMember.groupOf(rt.config.name()), rt.machine);
        }
        ClusterSettings s = options.settings();
        String self = s.host() + ":" + s.port();
        try {
            raft = RaftMember.start(RaftMember.Options.of(new DataDir(config.dataDir()).raft(), self, s.members(),
                    config.snapshotEveryFrames()).withTls(s.tls()), gid -> {
                AppStateMachine m = byGroup.get(gid);
                if (m == null) {
                    throw new io.replicode.FixableException("the Raft storage of this member holds group " + gid + " of an app that"
                            + " is not configured here", "configure every app the cluster runs, or remove "
                            + new DataDir(config.dataDir()).raft().resolve(gid.getUuid().toString()));
                }
                return m;
            });
        } catch (io.replicode.FixableException e) {
            throw new UserError(e.what(), e.fixOr("see docs/clustering.md"));
        }
        var genesisMap = boot.hazelcast().<String, String>getMap("replicode.genesis");
        for (AppRuntime rt : apps.values()) {
            String app = rt.config.name();
            if (raft.hasGroup(app)) {
                rt.joinedFrom = "its own Raft log and snapshot (frame " + rt.log.lastSeq() + ")";
                continue;
            }
            boolean formed = genesisMap.containsKey(GROUP_FORMED_PREFIX + app);
            boolean listed = s.members().contains(self);
            if (!formed && listed) {
                raft.join(app, true);
                rt.joinedFrom = "a new Raft group of the " + s.members().size() + " listed members";
            } else {
                raft.join(app, false);
                rt.joinedFrom = "joining the running group (a snapshot from the leader)";
                requestMembership(rt);
            }
        }
    }

    /**
     * Starts following who leads each app's group: from this member's own Raft server when it runs the groups
     * ({@code data}), else by asking the members that do.
     */
    private void followLeaders(boolean data) {
        leaders = new io.replicode.cluster.LeaderDirectory(boot.vertx(), List.copyOf(apps.keySet()), app -> {
            RaftMember r = raft;
            if (r == null) {
                return null;
            }
            try {
                var id = r.division(app).getInfo().getLeaderId();
                return id == null ? null : id.toString();
            } catch (java.io.IOException | RuntimeException e) {
                return null;
            }
        }, data);
        leaders.start();
    }

    /** Asks the app's leader, over the event bus, to add this member to the group; retried until it is in. */
    private void requestMembership(AppRuntime rt) {
        String app = rt.config.name();
        JsonObject me = new JsonObject().put("peer", raft.id().toString())
                .put("address", RaftMember.raftAddress(options.settings().host() + ":" + options.settings().port()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
        java.util.concurrent.atomic.AtomicBoolean asking = new java.util.concurrent.atomic.AtomicBoolean();
        boot.vertx().setPeriodic(0, 1_000, id -> {
            if (!asking.compareAndSet(false, true)) {
                // One request at a time: a configuration change in progress is not asked for again.
                return;
            }
            if (closed || System.nanoTime() > deadline) {
                boot.vertx().cancelTimer(id);
                if (!closed) {
                    say(app + ": no leader added this member within 600 s; is a majority of the group up?");
                }
                return;
            }
            String leader = leaders.leaderOf(app);
            if (leader == null) {
                // Not known yet: the directory asks the members that run the group.
                asking.set(false);
                return;
            }
            boot.vertx().eventBus().<JsonObject>request(LeaderSequencer.joinAddress(app, leader), me,
                    new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(90_000)).onComplete(ar -> {
                        if (ar.succeeded() && boot.vertx().cancelTimer(id)) {
                            say(app + ": added to the Raft group by the leader (" + ar.result().body().getString("members") + ")");
                        }
                        asking.set(false);
                    });
        });
    }

    private void startReplicasAndSequencer(AppRuntime rt) {
        if (rt.machine == null) {
            return;
        }
        rt.replicas.deployAll();
        if (rt.hasReplicas()) {
            rt.monitor = new DivergenceMonitor(boot.vertx(), rt.config.name(), rt.replicas.size(), replicaIdBase(), out,
                    (r, seq) -> rt.replicas.rebuild(r, seq, () -> rt.monitor.trusted(r)));
            if (metrics != null) {
                rt.monitor.registerMeters(metrics);
            }
            rt.monitor.start();
        }
        compareDigestsAcrossMembers(rt);
        if (raft != null) {
            rt.sequencer = new LeaderSequencer(rt.config.name(), boot.hazelcast(), boot::liveNodeIds, raft, rt.machine,
                    new GatewayRegistry(boot.hazelcast()), NodeParts.sequencerOptions(config, NodeParts.CLUSTER_FRAME_BYTES), SequencerVerticle::wallClockNs, out)
                    .withMeters(metrics == null ? io.replicode.sequencer.SequencerMeters.NONE
                            : new io.replicode.sequencer.SequencerMeters(metrics, rt.config.name()))
                    .withCompanion(NodeParts.upstreamConnector(boot.vertx(), rt.config));
            await(boot.vertx().deployVerticle(rt.sequencer));
        }
    }

    /** Every {@value #DIGEST_REPORT_MS} ms: this member's replica digests out, the other members' compared. */
    private static final long DIGEST_REPORT_MS = 2_000;

    private void compareDigestsAcrossMembers(AppRuntime rt) {
        String app = rt.config.name();
        String address = "replicode.cluster." + app + ".digests";
        rt.digests = new io.replicode.cluster.MemberDigests(app);
        String me = raft != null ? raft.id().toString() : boot.nodeId();
        boot.vertx().eventBus().<JsonObject>consumer(address, m -> {
            for (var d : rt.digests.report(m.body(), System.currentTimeMillis())) {
                say(d.describe());
                if (d.member().equals(me) && !d.agreeing().isEmpty()) {
                    rebuildFromHealthyMember(rt, me, d);
                }
            }
        });
        serveSnapshots(rt, me);
        boot.vertx().setPeriodic(DIGEST_REPORT_MS, id -> {
            ReplicaVerticle first = rt.rebuilding.get() ? null : rt.firstReplica();
            if (first != null) {
                boot.vertx().eventBus().publish(address, io.replicode.cluster.MemberDigests.message(me, first.recentDigests(),
                        first.appliedSeq()));
            }
        });
    }

    /** Where {@code member} answers requests for its newest replica snapshot of {@code app}. */
    private static String snapshotAddress(String app, String member) {
        return "replicode.cluster." + app + ".snapshot." + member;
    }

    /**
     * Answers a member that must rebuild a diverged replica with this member's newest replica snapshot: 8 bytes of frame
     * seq, then the snapshot. Fails with 404 while there is none, and with 503 while this member rebuilds its own.
     */
    private void serveSnapshots(AppRuntime rt, String me) {
        boot.vertx().eventBus().<Object>consumer(snapshotAddress(rt.config.name(), me), m -> {
            if (rt.rebuilding.get() || !rt.hasReplicas()) {
                m.fail(503, "member " + me + " has no healthy replica of " + rt.config.name() + " to give");
                return;
            }
            boot.vertx().executeBlocking(() -> rt.replicas.stores().get(0).latest(), false).onComplete(ar -> {
                if (ar.failed()) {
                    m.fail(500, String.valueOf(ar.cause()));
                } else if (ar.result().isEmpty()) {
                    m.fail(404, "member " + me + " has no snapshot of " + rt.config.name() + " yet");
                } else {
                    m.reply(io.vertx.core.buffer.Buffer.buffer().appendLong(ar.result().get().seq()).appendBytes(ar.result().get().bytes()));
                }
            });
        });
    }

    /**
     * This member's replica differs from the majority's at a frame: its state is replaced by a healthy member's newest
     * replica snapshot, and its replicas start again from it (they replay this member's log after the snapshot's frame,
     * as after a restart). The diverged replica's digest log is kept beside as evidence. Without a snapshot anywhere yet,
     * a member whose log still starts at frame 1 rebuilds from genesis; otherwise the next alarm tries again.
     *
     * <p>Why not a Raft snapshot install: Ratis installs snapshots only on a member whose log is behind the leader's,
     * and this member's log is complete and right; only what its replicas made of it is wrong.
     */
    private void rebuildFromHealthyMember(AppRuntime rt, String me, io.replicode.cluster.MemberDigests.Divergence d) {
        if (!rt.hasReplicas() || !rt.rebuilding.compareAndSet(false, true)) {
            return;
        }
        String app = rt.config.name();
        String healthy = d.agreeing().get(0);
        say(app + ": this member's replica diverged at frame " + d.seq() + "; rebuilding it from member " + healthy + "'s snapshot");
        boot.vertx().eventBus().<io.vertx.core.buffer.Buffer>request(snapshotAddress(app, healthy), "",
                        new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(30_000))
                .map(reply -> Optional.of(new SnapshotStore.Stored(reply.body().getLong(0), reply.body().getBytes(8, reply.body().length()))))
                .recover(e -> e instanceof io.vertx.core.eventbus.ReplyException r && r.failureCode() == 404 && rt.log.firstSeq() <= 1
                        ? Future.succeededFuture(Optional.<SnapshotStore.Stored>empty()) : Future.failedFuture(e))
                .compose(snapshot -> {
                    if (snapshot.isPresent() && (snapshot.get().seq() + 1 < rt.log.firstSeq() || snapshot.get().seq() > rt.log.lastSeq())) {
                        return Future.failedFuture("member " + healthy + "'s snapshot is at frame " + snapshot.get().seq()
                                + ", outside this member's log (" + rt.log.firstSeq() + ".." + rt.log.lastSeq() + ")");
                    }
                    return rt.replicas.undeployAll()
                            .compose(v -> boot.vertx().executeBlocking(() -> {
                                List<SnapshotStore> stores = rt.replicas.stores();
                                for (int r = 1; r <= stores.size(); r++) {
                                    replaceState(new DataDir(config.dataDir()).app(app), stores.get(r - 1), r, snapshot, d.seq());
                                }
                                rt.replicas.deployAll();
                                return snapshot.map(s -> "member " + healthy + "'s snapshot at frame " + s.seq()).orElse("genesis");
                            }, false));
                })
                .onComplete(ar -> {
                    rt.digests.forget(me);
                    rt.rebuilding.set(false);
                    if (ar.succeeded()) {
                        rt.rebuilds++;
                        rt.lastRebuild = "frame " + d.seq() + ": rebuilt from " + ar.result();
                        say(app + ": this member's replicas were rebuilt from " + ar.result());
                    } else {
                        rt.lastRebuild = "frame " + d.seq() + ": not rebuilt: " + ar.cause().getMessage();
                        say(app + ": this member's replica could not be rebuilt (" + ar.cause().getMessage()
                                + "); it is tried again at the next divergence report");
                    }
                });
    }

    /** Empties a replica's snapshot store, keeps its digest log beside as evidence, and puts {@code snapshot} in. */
    private static void replaceState(DataDir.App appDir, SnapshotStore store, int replica, Optional<SnapshotStore.Stored> snapshot,
                                     long divergedAt) throws java.io.IOException {
        appDir.resetReplica(replica, divergedAt);
        if (snapshot.isPresent()) {
            store.save(snapshot.get().seq(), snapshot.get().bytes());
        }
    }

    /** Replica r of this member reports as this + r: replica ids are unique in the cluster. */
    private int replicaIdBase() {
        return gatewayId * (MAX_REPLICAS_PER_MEMBER + 1);
    }

    /** This member's gateway, which its replicas hand their answers to without the event bus. */
    private final io.replicode.nat.LocalGateways localGateways = new io.replicode.nat.LocalGateways();

    private ReplicaVerticle newReplica(AppRuntime rt, int r, SnapshotStore store) {
        return new ReplicaVerticle(rt.config.name(), replicaIdBase() + r, rt.module, rt.genesis, rt.log, store,
                new ReplicaVerticle.Options(4096, options.roles().contains("gateway") ? Set.of(gatewayId) : Set.of())
                        .withLocalFrames(rt.frames)
                        .withLocalGateways(localGateways)
                        .withDigestSink(NodeParts.digestsTo(() -> rt.monitor))
                        .withOutputsFor(g -> g == gatewayId || !selfServed.contains(g))
                        .withRoute(leaders.route())
                        .withMachines(NodeParts.withModules(HOOK.get().machines(rt.config.name(), r), sha -> module(rt, sha)))
                        .whenSwitched((sha, seq) -> Genesis.noteSwitch(rt.dir, sha, seq)));
    }

    /** After the member's history restarted from an installed snapshot: the replicas start again from it. */
    private void restartReplicas(AppRuntime rt) {
        rt.replicas.undeployAll().onComplete(ar ->
                boot.vertx().executeBlocking(() -> {
                    rt.replicas.deployAll();
                    say(rt.config.name() + ": replicas restarted from the snapshot");
                    return null;
                }, false));
    }

    private void startGateway() {
        List<GatewayConfig.App> list = NodeParts.gatewayApps(apps.values().stream().map(rt -> rt.config).toList());
        GatewayConfig gc = GatewayConfig.of(gatewayId, config.host(), list).withHttpPort(config.httpPort())
                .withStatusProvider(this::status);
        gateway = new GatewayVerticle(gc, out, new GatewayVerticle.ClusterLink(this::unavailable, RESEND_AFTER_MS, leaders.route()))
                .withAdminToken(io.replicode.gateway.status.AdminToken.of(options.ops().adminToken()))
                .withReadiness(this::notReady)
                .withLocalGateways(localGateways);
        if (metrics != null) {
            gateway.withMetrics(metrics, metrics::scrape);
        }
        if (options.ops().tls()) {
            gateway.withTls(NodeParts.tls(options.ops()));
        }
        if (options.ops().eventBusBridgePort() > 0) {
            gateway.withEventBusBridge(options.ops().eventBusBridgePort());
        }
        try {
            await(boot.vertx().deployVerticle(gateway));
        } catch (ListenException e) {
            throw new UserError(e.what(), e.fix());
        }
    }

    /**
     * Why this member is not ready for writes beyond what the gateway checks itself (the majority, stopped apps): its
     * replicas are catching up with the other members', or no leader of an app is known to it. Null when ready.
     */
    private String notReady() {
        synchronized (catchUp) {
            if (catchUp.behind()) {
                return "this member's replicas are catching up with the other members' (their replicas answer its clients"
                        + " meanwhile)";
            }
        }
        for (AppRuntime rt : apps.values()) {
            if (leaders != null && leaders.leaderOf(rt.config.name()) == null) {
                return "no leader of app '" + rt.config.name() + "' is known to this member yet";
            }
        }
        return null;
    }

    /** Why this member cannot serve clients now, or null. */
    private String unavailable() {
        HazelcastInstance hz = boot.hazelcast();
        if (!hz.getLifecycleService().isRunning()) {
            return "this member is leaving the cluster";
        }
        int size = hz.getCluster().getMembers().size();
        int min = options.settings().minimumClusterSize();
        if (size < min) {
            return "this member sees " + size + " cluster member(s), below the minimum of " + min + " of the "
                    + options.settings().members().size() + " listed: it is cut off from the majority and nothing can be "
                    + "sequenced here. Fix: use a gateway on the majority side, or restore this member's network";
        }
        return null;
    }

    /** Waits (bounded) until every app has a first frame in this member's log: a sequencer runs somewhere. */
    private void awaitFirstFrames() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (AppRuntime rt : apps.values()) {
            if (rt.log == null) {
                continue;
            }
            while (rt.log.lastSeq() == 0 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (rt.log.lastSeq() == 0) {
                say(rt.config.name() + ": no frame yet after 60 s: no member sequences the app (is a majority of the members up?)");
            }
        }
    }

    private void describe(long startMs) {
        ClusterSettings s = options.settings();
        HazelcastInstance hz = boot.hazelcast();
        out.println("replicode node: member " + s.host() + ":" + s.port() + (raft == null ? "" : " (Raft peer " + raft.id()
                + " on " + RaftMember.raftAddress(s.host() + ":" + s.port()) + ")") + " of " + s.members().size() + " listed ("
                + hz.getCluster().getMembers().size() + " up, minimum " + s.minimumClusterSize() + "), roles "
                + String.join(",", new TreeSet<>(options.roles())) + (s.tls() != null ? ", TLS between members" : "")
                + ", gateway id " + gatewayId + ", data "
                + config.dataDir().toAbsolutePath().normalize() + ", started in " + startMs + " ms (joined the cluster in "
                + boot.joinMs() + " ms)");
        for (AppRuntime rt : apps.values()) {
            AppConfig a = rt.config;
            if (rt.machine != null) {
                out.println(a.name() + ": history at frame " + rt.log.lastSeq() + " (from " + rt.joinedFrom + "), "
                        + rt.replicas.size() + " replica(s) here");
            }
            if (gateway != null) {
                NodeParts.describeEndpoints(out, gateway, a, config.host());
            }
        }
        if (gateway != null) {
            out.println("status: " + (gateway.tls() ? "https" : "http") + "://" + config.host() + ":" + gateway.httpPort() + "/status");
        }
        out.flush();
    }

    /** The member's part of /status: cluster view, per app its history, sequencer and replicas. */
    Future<JsonObject> status() {
        HazelcastInstance hz = boot.hazelcast();
        JsonArray members = new JsonArray();
        for (Member m : hz.getCluster().getMembers()) {
            members.add(new JsonObject().put("address", m.getAddress().getHost() + ":" + m.getAddress().getPort())
                    .put("uuid", m.getUuid().toString()).put("lite", m.isLiteMember()).put("local", m.localMember()));
        }
        JsonObject cluster = new JsonObject().put("members", members).put("minimum", options.settings().minimumClusterSize())
                .put("listed", options.settings().members().size()).put("gatewayId", gatewayId)
                .put("roles", new JsonArray(List.copyOf(new TreeSet<>(options.roles()))));
        JsonObject appsJson = new JsonObject();
        List<Future<JsonObject>> all = new ArrayList<>();
        for (AppRuntime rt : apps.values()) {
            JsonObject a = new JsonObject();
            appsJson.put(rt.config.name(), a);
            if (rt.machine != null) {
                a.put("history", new JsonObject(new LinkedHashMap<>(rt.machine.counters())).put("logFirstSeq", rt.log.firstSeq())
                        .put("logLastSeq", rt.log.lastSeq()).put("joinedFrom", rt.joinedFrom));
            }
            if (raft != null) {
                a.put("raft", raftStatus(rt.config.name()));
            }
            if (rt.digests != null) {
                a.put("divergence", rt.digests.status().put("rebuilding", rt.rebuilding.get()).put("rebuilds", rt.rebuilds)
                        .put("lastRebuild", rt.lastRebuild));
            }
            if (rt.monitor != null) {
                // This member's replicas compared with each other ("divergence" compares the members).
                a.put("localDivergence", rt.monitor.status());
            }
            if (rt.sequencer != null) {
                a.put("sequencer", rt.sequencer.status());
            }
            JsonArray replicas = new JsonArray();
            a.put("replicas", replicas);
            List<ReplicaVerticle> list = rt.replicas == null ? List.of() : rt.replicas.running();
            for (ReplicaVerticle r : list) {
                all.add(r.status().recover(t -> Future.succeededFuture(new JsonObject().put("unavailable", t.getMessage())))
                        .onSuccess(replicas::add));
            }
        }
        return Future.join(all).map(v -> new JsonObject().put("cluster", cluster).put("apps", appsJson));
    }

    /** This member's view of an app's Raft group: role, leader, term, indexes, peers. */
    private JsonObject raftStatus(String app) {
        try {
            var d = raft.division(app);
            var info = d.getInfo();
            JsonArray peers = new JsonArray();
            for (org.apache.ratis.protocol.RaftPeer p : d.getGroup().getPeers()) {
                peers.add(p.getId().toString());
            }
            return new JsonObject().put("peer", raft.id().toString()).put("role", info.getCurrentRole().name())
                    .put("leader", info.getLeaderId() == null ? null : info.getLeaderId().toString())
                    .put("term", info.getCurrentTerm()).put("leaderReady", info.isLeader() && info.isLeaderReady())
                    .put("commitIndex", d.getRaftLog().getLastCommittedIndex())
                    .put("appliedIndex", info.getLastAppliedIndex()).put("peers", peers);
        } catch (java.io.IOException | RuntimeException e) {
            return new JsonObject().put("unavailable", String.valueOf(e.getMessage()));
        }
    }

    public int httpPort() {
        return gateway == null ? -1 : gateway.httpPort();
    }

    public int gatewayId() {
        return gatewayId;
    }

    /** Leaves the cluster (connections at this gateway are reset, partitions migrate away) and closes the logs. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (gateway != null) {
            NodeParts.drain(gateway, out);
        }
        closeQuietly(boot);
        if (raft != null) {
            raft.close();
        }
        for (AppRuntime rt : apps.values()) {
            if (rt.log != null) {
                rt.log.close();
            }
        }
        if (metrics != null) {
            NodeParts.closeMetrics(metrics);
        }
    }

    private static void closeQuietly(ClusterBoot boot) {
        try {
            boot.close().toCompletionStage().toCompletableFuture().get(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Best effort: the logs are closed by the caller regardless.
        }
    }

    /** A cluster event, with the time of day: events of several members are read side by side. */
    private void say(String line) {
        out.println(line); // the command line's log adds the time and the level to every line
        out.flush();
    }

    private static <T> T await(Future<T> f) {
        return NodeParts.await(f);
    }
}
