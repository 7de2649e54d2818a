package io.replicode.node;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.GatewayVerticle;
import io.replicode.gateway.ListenException;
import io.replicode.gateway.tcp.TcpIngress;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.Operations;
import io.replicode.nat.ConnectionIds;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.verticle.ReplicaVerticle;
import io.replicode.sequencer.SequencerVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One process running the whole pipeline for every configured app: a gateway, and per app a sequencer
 * with its replay log under {@code <data>/<app>/log} and N replicas with their snapshots under
 * {@code <data>/<app>/replica-<n>/snapshots}.
 */
public final class EmbeddedNode implements AutoCloseable {
    private static final long CLOSE_TIMEOUT_SECONDS = 30;

    /** What runs for one app. Replicas are replaced when one is rebuilt after a divergence. */
    private static final class AppRuntime {
        final AppConfig config;
        /** The module the app's history began with; {@link #modules} has the ones it was upgraded to. */
        final GuestModule module;
        final ModuleStore modules;
        final Path dir;
        final GuestConfig genesis;
        final ReplayLog log;
        final SequencerVerticle sequencer;
        /** Where the sequencer hands durable frames to the replicas. */
        final io.replicode.replica.verticle.LocalFrames frames;
        ReplicaSet replicas;
        /** Set once the gateway is up; replicas report their digests to it (earlier ones are not compared). */
        volatile DivergenceMonitor monitor;

        AppRuntime(AppConfig config, GuestModule module, ModuleStore modules, Path dir, GuestConfig genesis, ReplayLog log,
                   SequencerVerticle sequencer, io.replicode.replica.verticle.LocalFrames frames) {
            this.frames = frames;
            this.config = config;
            this.module = module;
            this.modules = modules;
            this.dir = dir;
            this.genesis = genesis;
            this.log = log;
            this.sequencer = sequencer;
        }

        AppConfig config() {
            return config;
        }

        GuestModule module() {
            return module;
        }

        ReplayLog log() {
            return log;
        }

        SequencerVerticle sequencer() {
            return sequencer;
        }

        List<ReplicaVerticle> replicas() {
            return replicas.running();
        }

        List<SnapshotStore> snapshots() {
            return replicas.stores();
        }
    }

    /**
     * How replicas make their machines. Public only as a fault-injection seam: the divergence tests (in launcher,
     * because they also run the replay tools) replace it to make one replica compute differently.
     */
    public interface MachineHook {
        MachineHook NONE = (app, replica) -> io.replicode.replica.machine.GuestMachine::create;

        java.util.function.BiFunction<GuestModule, GuestConfig, io.replicode.replica.machine.GuestMachine> machines(
                String app, int replica);
    }

    /** How often each app's log is trimmed to its replicas' oldest snapshot. */
    private static final long RETENTION_EVERY_MS = 30_000;

    private final Vertx vertx;
    private final Map<String, AppRuntime> apps;
    private final GatewayVerticle gateway;
    private boolean closed;
    private static final java.util.concurrent.atomic.AtomicReference<MachineHook> HOOK =
            new java.util.concurrent.atomic.AtomicReference<>(MachineHook.NONE);

    private EmbeddedNode(Vertx vertx, Map<String, AppRuntime> apps, GatewayVerticle gateway) {
        this.vertx = vertx;
        this.apps = apps;
        this.gateway = gateway;
    }

    /**
     * Starts everything and prints what listens where. Mistakes the user can fix (a rejected module, a
     * changed genesis, a corrupt log, a busy port) are {@link UserError}s, and nothing is left running.
     */
    public static EmbeddedNode start(NodeConfig config, PrintWriter out) {
        return start(config, out, MachineHook.NONE);
    }

    /** As {@link #start(NodeConfig, PrintWriter)}, with replicas' machines made by {@code hook} (tests). */
    public static EmbeddedNode start(NodeConfig config, PrintWriter out, MachineHook hook) {
        return start(config, Operations.NONE, out, hook);
    }

    /** As {@link #start(NodeConfig, PrintWriter)}, operated as {@code ops} says (the admin token). */
    public static EmbeddedNode start(NodeConfig config, Operations ops, PrintWriter out) {
        return start(config, ops, out, MachineHook.NONE);
    }

    private static EmbeddedNode start(NodeConfig config, Operations ops, PrintWriter out, MachineHook hook) {
        HOOK.set(hook);
        Vertx vertx = Vertx.vertx();
        Map<String, AppRuntime> apps = new LinkedHashMap<>();
        var metrics = ops.metrics() ? NodeParts.metrics() : null;
        try {
            int gatewayId = nextIncarnation(config.dataDir());
            // The replicas hand their answers to this node's gateway without the event bus.
            var localGateways = new io.replicode.nat.LocalGateways();
            for (AppConfig app : config.apps()) {
                apps.put(app.name(), startApp(vertx, config, app, gatewayId, localGateways, out, metrics));
            }
            GatewayVerticle gateway = new GatewayVerticle(gatewayConfig(config, gatewayId, apps), out)
                    .withAdminToken(io.replicode.gateway.status.AdminToken.of(ops.adminToken()))
                    .withLocalGateways(localGateways);
            if (metrics != null) {
                gateway.withMetrics(metrics, metrics::scrape);
            }
            if (ops.tls()) {
                gateway.withTls(NodeParts.tls(ops));
            }
            if (ops.eventBusBridgePort() > 0) {
                gateway.withEventBusBridge(ops.eventBusBridgePort());
            }
            EmbeddedNode node = new EmbeddedNode(vertx, apps, gateway);
            node.metrics = metrics;
            node.printer = out;
            vertx.eventBus().<io.vertx.core.buffer.Buffer>localConsumer(GatewayVerticle.UPGRADE_ADDRESS,
                    m -> node.onUpgrade(m, config.engine()));
            vertx.eventBus().<JsonObject>localConsumer(GatewayVerticle.SCALE_ADDRESS,
                    m -> node.onScale(m, config));
            try {
                await(vertx.deployVerticle(gateway));
            } catch (ListenException e) {
                throw new UserError(e.what(), e.fix());
            }
            for (AppRuntime rt : apps.values()) {
                rt.monitor = new DivergenceMonitor(vertx, rt.config().name(), rt.replicas.size(), out,
                        (replica, seq) -> rt.replicas.rebuild(replica, seq, () -> rt.monitor.trusted(replica)));
                if (metrics != null) {
                    rt.monitor.registerMeters(metrics);
                }
                rt.monitor.start();
            }
            // Gateways are listening: now the sequencers may cut their first frames.
            apps.values().forEach(rt -> rt.sequencer().begin());
            vertx.setPeriodic(RETENTION_EVERY_MS, id -> vertx.executeBlocking(() -> {
                for (AppRuntime rt : apps.values()) {
                    LogRetention.apply(rt.log(), rt.snapshots());
                }
                return null;
            }, false));
            node.describe(config, out);
            NodeParts.describeAccess(out, ops);
            out.flush();
            return node;
        } catch (RuntimeException | Error e) {
            close(vertx, apps);
            if (metrics != null) {
                NodeParts.closeMetrics(metrics);
            }
            throw e;
        }
    }

    private static AppRuntime startApp(Vertx vertx, NodeConfig node, AppConfig app, int gatewayId,
                                       io.replicode.nat.LocalGateways localGateways, PrintWriter out,
                                       io.micrometer.core.instrument.MeterRegistry metrics) {
        GuestModule configured = NodeParts.loadModule(app, node);
        Path appDir = node.dataDir().resolve(app.name());
        GuestConfig genesis = Genesis.loadOrCreate(appDir, NodeParts.wanted(app), configured.sha256(), app.module(),
                SequencerVerticle.wallClockNs());
        ModuleStore modules = NodeParts.moduleStore(appDir, app, node);
        GuestModule module = NodeParts.genesisModule(appDir, app, modules);
        ReplayLog log = NodeParts.openLog(appDir, app, node);
        if (log.recovery().tornTail() != null) {
            out.println(app.name() + ": replay log: " + log.recovery().tornTail());
        }
        SequencerVerticle sequencer = new SequencerVerticle(app.name(), log, NodeParts.sequencerOptions(node, NodeParts.singleNodeFrameBytes(app.limits().receiveBufferBytes())),
                SequencerVerticle::wallClockNs).withMeters(metrics == null ? io.replicode.sequencer.SequencerMeters.NONE
                        : new io.replicode.sequencer.SequencerMeters(metrics, app.name()))
                .withCompanion(NodeParts.upstreamConnector(vertx, app));
        var frames = new io.replicode.replica.verticle.LocalFrames();
        sequencer.withLocalReplicas(frames::deliver);
        AppRuntime runtime = new AppRuntime(app, module, modules, appDir, genesis, log, sequencer, frames);
        DataDir.App dir = new DataDir.App(appDir);
        java.util.function.Consumer<String> say = line -> {
            out.println("replicode: " + line);
            out.flush();
        };
        runtime.replicas = new ReplicaSet(vertx, app.name(), dir, log, (r, store) -> newReplica(runtime, r, store, gatewayId, localGateways)
                .withMeters(metrics), say)
                .open(ReplicaSet.countAtStart(dir, node.replicas(), say));
        sequencer.withSnapshotBytes(() -> {
            ReplicaVerticle first = runtime.replicas.first();
            return NodeParts.snapshotCost(runtime.snapshots().isEmpty() ? 0 : runtime.snapshots().get(0).newestBytes(),
                    first == null ? 0 : first.snapshotStateBytes());
        });
        try {
            runtime.replicas.deployAll();
            // Replicas first: they catch up from the log, then the sequencer's first frame reaches all of them.
            await(vertx.deployVerticle(sequencer));
        } catch (RuntimeException e) {
            log.close();
            throw e;
        }
        return runtime;
    }

    private static ReplicaVerticle newReplica(AppRuntime rt, int r, SnapshotStore store, int gatewayId,
                                              io.replicode.nat.LocalGateways localGateways) {
        return new ReplicaVerticle(rt.config().name(), r, rt.module(), rt.genesis, rt.log(), store,
                new ReplicaVerticle.Options(4096, java.util.Set.of(gatewayId))
                        .withLocalFrames(rt.frames)
                        .withLocalGateways(localGateways)
                        .withDigestSink(NodeParts.digestsTo(() -> rt.monitor))
                        .withMachines(NodeParts.withModules(HOOK.get().machines(rt.config().name(), r), rt.modules::get))
                        .whenSwitched((sha, seq) -> Genesis.noteSwitch(rt.dir, sha, seq)));
    }

    /** An upgrade asked through the gateway's admin API: checked and stored off the event loop, answered with a status. */
    private void onUpgrade(io.vertx.core.eventbus.Message<io.vertx.core.buffer.Buffer> m,
                           io.replicode.replica.module.Engine engine) {
        AppRuntime rt = apps.get(m.headers().get("app"));
        boolean accept = "true".equals(m.headers().get("acceptDifferences"));
        byte[] wasm = m.body().getBytes();
        vertx.executeBlocking(() -> {
            synchronized (rt) {
                return new Upgrades(rt.config().name(), rt.dir, rt.module(), rt.genesis, rt.modules, rt.log(),
                        rt.snapshots().get(0)).check(wasm, accept, Upgrades.canaryFrames(m.headers().get("canaryFrames")),
                        Upgrades.graceFrames(m.headers().get("graceFrames")), engine, this::out);
            }
        }, false).onComplete(ar -> m.reply(ar.succeeded() ? ar.result() : new JsonObject().put("status", 500)
                .put("error", "checking the upgrade failed: " + ar.cause())
                .put("fix", "see the node's log; the app runs on unchanged")));
    }

    /** A change of an app's replica count asked through the gateway's admin API, done off the event loop. */
    private void onScale(io.vertx.core.eventbus.Message<JsonObject> m, NodeConfig config) {
        AppRuntime rt = apps.get(m.body().getString("app"));
        int wanted = m.body().getInteger("replicas");
        if (wanted < 1 || wanted > ReplicaSet.MAX) {
            m.reply(NodeParts.scaleOutOfRange(wanted));
            return;
        }
        vertx.executeBlocking(() -> {
            synchronized (rt) {
                return rt.replicas.scale(wanted, config.replicas(), rt.monitor);
            }
        }, false).onComplete(ar -> m.reply(NodeParts.scaleAnswer(ar)));
    }

    private volatile PrintWriter printer;
    private io.micrometer.core.instrument.MeterRegistry metrics;

    private void out(String line) {
        PrintWriter p = printer;
        if (p != null) {
            p.println(line);
            p.flush();
        }
    }

    private static GatewayConfig gatewayConfig(NodeConfig node, int gatewayId, Map<String, AppRuntime> apps) {
        List<GatewayConfig.App> list = NodeParts.gatewayApps(apps.values().stream().map(AppRuntime::config).toList());
        EmbeddedNodeStatus status = new EmbeddedNodeStatus(apps);
        return GatewayConfig.of(gatewayId, node.host(), list).withHttpPort(node.httpPort())
                .withStatusProvider(status::collect);
    }

    /** The status of sequencers and replicas, for the gateway's /status. */
    private record EmbeddedNodeStatus(Map<String, AppRuntime> apps) {
        Future<JsonObject> collect() {
            List<Future<JsonObject>> all = new ArrayList<>();
            JsonObject out = new JsonObject();
            for (AppRuntime rt : apps.values()) {
                JsonArray replicas = new JsonArray();
                JsonObject app = new JsonObject().put("sequencer", rt.sequencer().status()).put("replicas", replicas)
                        .put("divergence", rt.monitor == null ? null : rt.monitor.status())
                        .put("module", rt.module().sha256())
                        .put("log", new JsonObject().put("firstSeq", rt.log().firstSeq()).put("lastSeq", rt.log().lastSeq())
                                .put("bytes", rt.log().sizeBytes()));
                out.put(rt.config().name(), app);
                List<ReplicaVerticle> list = rt.replicas();
                for (int i = 0; i < list.size(); i++) {
                    int id = i + 1;
                    all.add(list.get(i).status()
                            .recover(t -> Future.succeededFuture(new JsonObject().put("replica", id).put("unavailable", t.getMessage())))
                            .onSuccess(replicas::add));
                }
            }
            return Future.join(all).map(v -> new JsonObject().put("apps", out));
        }
    }

    private void describe(NodeConfig config, PrintWriter out) {
        out.println("replicode run: gateway " + config.host() + ", " + config.replicas() + " replicas per app, fsync "
                + config.fsync().name().toLowerCase() + ", data " + config.dataDir().toAbsolutePath().normalize());
        for (AppRuntime rt : apps.values()) {
            AppConfig a = rt.config();
            out.println(a.name() + ": module " + a.module() + " (" + config.engine().name().toLowerCase() + ", "
                    + (rt.module().snapshotCapable() ? "asyncify" : "thread, no snapshots") + "), " + rt.replicas.size()
                    + " replicas, log at frame "
                    + rt.log().lastSeq());
            NodeParts.describeEndpoints(out, gateway, a, config.host());
        }
        out.println("status: " + (gateway.tls() ? "https" : "http") + "://" + config.host() + ":" + gateway.httpPort() + "/status");
        out.flush();
    }

    public int httpPort() {
        return gateway.httpPort();
    }

    public List<TcpIngress.Endpoint> tcpEndpoints() {
        return gateway.tcpEndpoints();
    }

    /** Status of every replica of {@code app}. */
    public Future<JsonObject> status() {
        return gateway.status();
    }

    /** Stops the gateway (connections are reset), the sequencers and replicas, and closes the logs. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        NodeParts.drain(gateway, printer);
        close(vertx, apps);
        if (metrics != null) {
            NodeParts.closeMetrics(metrics);
        }
    }

    private static void close(Vertx vertx, Map<String, AppRuntime> apps) {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Closing is best effort; the logs below are closed (and forced) regardless.
        }
        for (AppRuntime rt : apps.values()) {
            rt.log().close();
        }
    }

    /**
     * Each run gets a new incarnation number, used as its gateway id: connection ids of this run never collide
     * with those of earlier runs still known to the guests (which the sequencer resets at start).
     */
    static int nextIncarnation(Path dataDir) {
        Path file = new DataDir(dataDir).nodeFile();
        try {
            Files.createDirectories(dataDir);
            long n = 0;
            if (Files.exists(file)) {
                n = new JsonObject(Files.readString(file, StandardCharsets.UTF_8)).getLong("incarnation", 0L);
            }
            n++;
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, new JsonObject().put("incarnation", n).encodePrettily(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return (int) (n % ConnectionIds.MAX_GATEWAY) + 1;
        } catch (IOException | RuntimeException e) {
            throw new UserError("cannot read or write " + file + ": " + e.getMessage(),
                    "make the data directory writable, or choose another with --data");
        }
    }

    private static <T> T await(Future<T> f) {
        return NodeParts.await(f);
    }
}
