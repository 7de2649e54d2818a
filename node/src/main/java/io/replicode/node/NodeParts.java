package io.replicode.node;

import io.replicode.gateway.GatewayConfig;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.LogCorruptedException;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.module.ModuleRejectedException;
import io.replicode.sequencer.FrameSequencer;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The pieces a single node ({@link EmbeddedNode}) and a cluster member ({@link ClusterNode}) build alike. */
final class NodeParts {
    static final long START_TIMEOUT_SECONDS = 120;
    /** A frame asks for a snapshot at least this often (besides every N frames). */
    static final long SNAPSHOT_EVERY_SECONDS = 60;

    private NodeParts() {}

    /** Prints where clients reach {@code app} on {@code gateway}: each TCP endpoint and the HTTP prefix. */
    static void describeEndpoints(java.io.PrintWriter out, io.replicode.gateway.GatewayVerticle gateway, AppConfig app,
                                  String host) {
        for (io.replicode.gateway.tcp.TcpIngress.Endpoint e : gateway.tcpEndpoints()) {
            if (e.app().equals(app.name())) {
                out.println(app.name() + (gateway.tls() ? ": tls " : ": tcp ") + e.host() + ":" + e.port() + " -> listener '"
                        + e.listener() + "'");
            }
        }
        if (gateway.eventBusBridgePort() > 0) {
            out.println(app.name() + ": event-bus bridge " + (gateway.tls() ? "(TLS) " : "") + host + ":"
                    + gateway.eventBusBridgePort() + " -> send to " + io.replicode.nat.Addresses.request(app.name()));
        }
        if (app.httpListener() != null) {
            out.println(app.name() + (gateway.tls() ? ": https://" : ": http://") + host + ":" + gateway.httpPort() + "/" + app.name() + "/ -> listener '"
                    + app.httpListener() + "'");
        }
    }

    /** The app's module, instrumented and compiled; a rejected module is a {@link UserError}. */
    static GuestModule loadModule(AppConfig app, NodeConfig node) {
        try {
            return GuestModule.load(app.module(), node.engine());
        } catch (ModuleRejectedException e) {
            throw new UserError("app '" + app.name() + "': " + e.what(), e.fixOr("rebuild the module for wasm32-wasi"));
        }
    }

    /**
     * The app's module store, holding the module the config names (stored at every start: a data directory from before
     * the store existed gets its genesis module this way).
     */
    static ModuleStore moduleStore(Path appDir, AppConfig app, NodeConfig node) {
        ModuleStore store = new ModuleStore(new DataDir.App(appDir).modules(), node.engine());
        try {
            store.put(java.nio.file.Files.readAllBytes(app.module()));
        } catch (java.io.IOException e) {
            throw new UserError("app '" + app.name() + "': cannot read module " + app.module() + ": " + e.getMessage(),
                    "check the path given with --app");
        }
        return store;
    }

    /**
     * The module the app's history began with, from its store: replicas start from it (at genesis) and switch at each
     * upgrade in the log, or take the module a snapshot names.
     */
    static GuestModule genesisModule(Path appDir, AppConfig app, ModuleStore store) {
        String sha = Genesis.genesisModule(appDir);
        GuestModule m = store.get(sha);
        if (m == null) {
            throw new UserError("app '" + app.name() + "': the module its history began with (" + sha.substring(0, 12)
                    + "…) is not in " + store.directory(), "put that module back under its hash, or run the app with"
                    + " a config that names it");
        }
        return m;
    }

    /** {@code machines}, with every machine finding the app's other modules (upgrades) by hash in {@code byHash}. */
    static java.util.function.BiFunction<GuestModule, GuestConfig, io.replicode.replica.machine.GuestMachine> withModules(
            java.util.function.BiFunction<GuestModule, GuestConfig, io.replicode.replica.machine.GuestMachine> machines,
            java.util.function.Function<String, GuestModule> byHash) {
        return (m, c) -> machines.apply(m, c).withModules(byHash);
    }

    /**
     * Replicas' digests, reported to the app's divergence monitor when it runs ({@code monitor} gives null before):
     * called on each replica's thread, without the event bus.
     */
    static io.replicode.replica.verticle.ReplicaVerticle.DigestSink digestsTo(
            java.util.function.Supplier<DivergenceMonitor> monitor) {
        return (replica, digest) -> {
            DivergenceMonitor m = monitor.get();
            if (m != null) {
                m.report(replica, digest);
            }
        };
    }

    /** The upstream connector of {@code app}, run beside its sequencer; none when the app lists no upstreams. */
    static io.replicode.sequencer.Companion upstreamConnector(io.vertx.core.Vertx vertx, AppConfig app) {
        if (app.upstreams().isEmpty()) {
            return io.replicode.sequencer.Companion.NONE;
        }
        return new io.replicode.gateway.tcp.UpstreamConnector(vertx, app.name(), app.upstreamConnectTimeoutMs(),
                app.limits().receiveBufferBytes());
    }

    /** The guest configuration the config asks for (the genesis adds seed and time). */
    static GuestConfig wanted(AppConfig app) {
        return GuestConfig.of(app.name(), app.listeners()).withLimits(app.limits())
                .withArgs(app.args().isEmpty() ? List.of(app.name()) : app.args())
                .withEnvironment(app.env())
                .withPreopens(app.preopens())
                .withListenerPorts(app.listenerPorts())
                .withUpstreams(app.upstreams());
    }


    /** Opens the app's replay log under {@code appDir/log}; a corrupt log is a {@link UserError}. */
    static ReplayLog openLog(Path appDir, AppConfig app, NodeConfig node) {
        return openLog(appDir, app, node.fsync());
    }

    /** As {@link #openLog(Path, AppConfig, NodeConfig)} with the given fsync policy. */
    static ReplayLog openLog(Path appDir, AppConfig app, ReplayLog.FsyncPolicy fsync) {
        try {
            return ReplayLog.open(new DataDir.App(appDir).log(), app.name(), ReplayLog.Options.DEFAULT.withFsync(fsync));
        } catch (LogCorruptedException e) {
            throw new UserError("app '" + app.name() + "': " + e.what(), e.fixOr("restore the data directory"));
        }
    }

    /** Event bytes in a frame of a cluster's sequencer: a Raft entry each. */
    static final int CLUSTER_FRAME_BYTES = 64 << 10;
    /** Room in a single node's frame beyond the client bytes it carries: the frame's fixed fields and its events' headers. */
    static final int FRAME_HEADROOM_BYTES = 4 << 10;

    /** Client bytes in a single node's frame at most, whatever the receive window: well below the replay log's record limit. */
    static final int MAX_SINGLE_NODE_FRAME_BYTES = 1 << 20;

    /**
     * Event bytes in a frame of an app's sequencer on a single node, for a guest receive window of {@code
     * receiveWindowBytes} (256 KiB by default): the whole window, at least 64 KiB and at most 1 MiB, and room for the
     * headers. With 64 KiB, a large upload crossed in frames of at most 64 KiB, one per log round trip, and each 64 KiB
     * read of the gateway's was split over two frames by a Data event's header (a 60 MiB SET: 1,920 frames). The cap
     * keeps a frame far below the replay log's record limit (32 MiB) when an app is given a very large window.
     */
    static int singleNodeFrameBytes(int receiveWindowBytes) {
        return Math.min(MAX_SINGLE_NODE_FRAME_BYTES, Math.max(CLUSTER_FRAME_BYTES, receiveWindowBytes)) + FRAME_HEADROOM_BYTES;
    }

    /** The state size beyond which a single node's snapshot cost stops growing: a restart replays at most this many frame bytes. */
    static final long SNAPSHOT_COST_STATE_CAP = 32L << 20;

    /**
     * What a snapshot costs on a single node, in bytes, for {@code FrameSequencer#snapshotBytes}: the last snapshot's
     * state uncompressed (what every replica copies and compresses at each snapshot) up to {@link
     * #SNAPSHOT_COST_STATE_CAP}, or the newest snapshot file if larger (all that is known before the first snapshot of a
     * run). The file alone was the measure before: a kv holding 10.8 MB of lists (6.8 MB of state without its zero pages)
     * compressed it to 585 KB, so it snapshotted every 1,000 frames of small requests and its replicas' snapshot
     * threads took 7.7 µs of CPU per request under {@code redis-benchmark -c 50}, against about 60 in all. The cap
     * bounds what a restart replays (32 MiB of frames, a few seconds).
     */
    static long snapshotCost(long newestSnapshotFileBytes, long snapshotStateBytes) {
        return Math.max(newestSnapshotFileBytes, Math.min(snapshotStateBytes, SNAPSHOT_COST_STATE_CAP));
    }

    /** Batching and snapshot cadence of the node's sequencers, with frames of at most {@code maxFrameBytes} of events. */
    static FrameSequencer.Options sequencerOptions(NodeConfig node, int maxFrameBytes) {
        var batching = node.batching();
        return new FrameSequencer.Options(batching.maxEventsPerFrame(), maxFrameBytes,
                TimeUnit.MILLISECONDS.toNanos(batching.intervalMs()), 100_000, node.snapshotEveryFrames(),
                node.snapshotEveryFrames() == 0 ? 0 : TimeUnit.SECONDS.toNanos(SNAPSHOT_EVERY_SECONDS),
                TimeUnit.MICROSECONDS.toNanos(batching.lingerMicros()));
    }

    /** What the gateway serves of each app: listeners, HTTP, TCP ports and limits. */
    static List<GatewayConfig.App> gatewayApps(List<AppConfig> apps) {
        List<GatewayConfig.App> list = new ArrayList<>();
        for (AppConfig a : apps) {
            GatewayConfig.App app = GatewayConfig.App.of(a.name(), a.listeners()).withHttp(a.httpListener())
                    .withLimits(new GatewayConfig.Limits(a.limits().receiveBufferBytes(), a.limits().sendWindowBytes(),
                            64L << 20, 16L << 20, a.maxConnections(), a.clients().maxConnectionsPerClient(),
                            a.clients().idleTimeoutMs(), a.clients().headerTimeoutMs(), a.clients().bodyTimeoutMs(),
                            a.clients().minBodyBytesPerSecond()));
            for (TcpBinding b : a.tcp()) {
                app = app.withTcp(b.port(), b.listener());
            }
            list.add(app);
        }
        return list;
    }

    /** Waits for a start step, at most {@link #START_TIMEOUT_SECONDS}; its failure is rethrown. */
    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("a component did not start within " + START_TIMEOUT_SECONDS + " s", e);
        }
    }

    /** The answer to a scale request for a count out of range. */
    static io.vertx.core.json.JsonObject scaleOutOfRange(int wanted) {
        return new io.vertx.core.json.JsonObject().put("status", 400).put("error", "an app runs 1.." + ReplicaSet.MAX
                + " replicas in one node or member, not " + wanted).put("fix", "ask for a number in that range");
    }

    /** The answer to a scale request: what {@link ReplicaSet#scale} did, or why it failed. */
    static io.vertx.core.json.JsonObject scaleAnswer(io.vertx.core.AsyncResult<io.vertx.core.json.JsonObject> ar) {
        return ar.succeeded() ? ar.result() : new io.vertx.core.json.JsonObject().put("status", 500)
                .put("error", "scaling failed: " + ar.cause()).put("fix", "see the node's log; /status shows the replicas");
    }

    /**
     * The node's metrics registry, in Prometheus's format, with the JVM's and the process's meters bound (memory, GC,
     * threads, classes, CPU, uptime, open files). Close it with the node: the GC meter listens to the JVM.
     */
    static io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics() {
        var registry = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        new io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.UptimeMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.FileDescriptorMetrics().bindTo(registry);
        var gc = new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics();
        gc.bindTo(registry);
        GC_METRICS.put(registry, gc);
        return registry;
    }

    /** The GC meters of each registry {@link #metrics} made, closed by {@link #closeMetrics}. */
    private static final java.util.Map<io.micrometer.core.instrument.MeterRegistry, AutoCloseable> GC_METRICS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Stops the GC listener of a registry from {@link #metrics} and closes it. */
    static void closeMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
        AutoCloseable gc = GC_METRICS.remove(registry);
        try {
            if (gc != null) {
                gc.close();
            }
        } catch (Exception e) {
            // closing a listener; nothing to do
        }
        registry.close();
    }

    /** Says at start whether the admin token guards the node, and what is open without one. */
    static void describeAccess(java.io.PrintWriter out, io.replicode.node.config.Operations ops) {
        if (ops.adminToken() == null) {
            out.println("admin: no admin token (" + io.replicode.node.config.Operations.TOKEN_VARIABLE + " or --admin-token-file):"
                    + " /status is open (client addresses hidden) and the admin API answers loopback clients. Fix: set "
                    + io.replicode.node.config.Operations.TOKEN_VARIABLE + " to guard them");
        } else {
            out.println("admin: /status, /ui data and the admin API need 'Authorization: Bearer <token>'; /health, /ready and"
                    + " /metrics are open");
        }
    }

    /** How long a stopping node waits for requests in flight (SIGTERM, close) before it resets what is left. */
    static final long DRAIN_MS = 10_000;

    /** The graceful half of a stop: {@link GatewayVerticle#drain}, waited for at most {@link #DRAIN_MS} (and a little). */
    static void drain(io.replicode.gateway.GatewayVerticle gateway, java.io.PrintWriter out) {
        try {
            int left = gateway.drain(DRAIN_MS).toCompletionStage().toCompletableFuture()
                    .get(DRAIN_MS + 2_000, java.util.concurrent.TimeUnit.MILLISECONDS);
            if (left > 0 && out != null) {
                out.println("replicode: stopping: " + left + " connection(s) still had a request in flight after "
                        + DRAIN_MS + " ms; they are reset");
                out.flush();
            }
        } catch (Exception e) {
            // The gateway is not running (it failed to start, or is closing already): nothing to wait for.
        }
    }

    /** The gateway's TLS options from the node's PEM certificate and key. */
    static io.vertx.core.net.PemKeyCertOptions tls(io.replicode.node.config.Operations ops) {
        return new io.vertx.core.net.PemKeyCertOptions().setCertPath(ops.tlsCert().toString())
                .setKeyPath(ops.tlsKey().toString());
    }
}
