package io.replicode.gateway;

import io.replicode.gateway.eventbus.EventBusIngress;
import io.replicode.gateway.http.HeadTimeouts;
import io.replicode.gateway.http.HttpIngress;
import io.replicode.gateway.limits.AcceptPacer;
import io.replicode.gateway.limits.FilesBudget;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.gateway.status.StatusGate;
import io.replicode.gateway.status.StatusReport;
import io.replicode.gateway.tcp.TcpIngress;
import io.replicode.nat.Addresses;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * One gateway of a node: the apps' TCP ports, HTTP at {@code /<app>/...} with {@code /status} and
 * {@code /health}, and event-bus requests, all turned into virtual connections whose events go to each
 * app's sequencer ({@link Addresses#ingress}); replica outputs come back on {@link Addresses#outputs} and
 * are routed to the clients.
 *
 * <p>Everything runs on this verticle's event loop; see {@link Switchboard} for the middle part.
 */
public final class GatewayVerticle extends VerticleBase {
    /** How long {@code /status} waits for the status provider. */
    static final long STATUS_PROVIDER_TIMEOUT_MS = 2_000;

    private final GatewayConfig config;
    private final PrintWriter out;
    private Switchboard switchboard;
    private TcpIngress tcp;
    private EventBusIngress eventBus;
    private HttpServer http;
    private HeadTimeouts heads;
    private StatusGate statusGate;
    private final AcceptPacer pacer = new AcceptPacer(FilesBudget.ofProcess());
    private MessageConsumer<Object> outputs;
    private io.replicode.nat.LocalGateways localGateways;
    private java.util.function.Consumer<io.replicode.nat.OutputBatch> localSink;
    private volatile int httpPort = -1;
    private volatile List<TcpIngress.Endpoint> endpoints = List.of();
    private long startedAtMs;
    private boolean stopping;

    public GatewayVerticle(GatewayConfig config) {
        this(config, new PrintWriter(System.out, true));
    }

    /** @param out where guest logs and the gateway's own notices are printed */
    public GatewayVerticle(GatewayConfig config, PrintWriter out) {
        this(config, out, null);
    }

    /**
     * What a gateway in a cluster does besides: keeps its ingress batches until a sequencer acknowledges them and
     * sends them again when the app's sequencer changes or no acknowledgement came for {@code resendAfterMs}; and
     * refuses new connections while {@code unavailable} gives a reason. Batches go to the sequencer {@code route}
     * names now; when it names another (a new leader), everything not acknowledged is sent there at once.
     */
    public record ClusterLink(java.util.function.Supplier<String> unavailable, long resendAfterMs,
                              io.replicode.nat.SequencerRoute route) {}

    private final ClusterLink cluster;
    private final io.replicode.gateway.routing.UnackedBatches unacked = new io.replicode.gateway.routing.UnackedBatches();

    // ---- operations: metrics, readiness, the admin token (set before deployment) ----
    private io.micrometer.core.instrument.MeterRegistry meters;
    private java.util.function.Supplier<String> scrape;
    private io.replicode.gateway.status.AdminToken token = io.replicode.gateway.status.AdminToken.NONE;
    private java.util.function.Supplier<String> notReady = () -> null;

    /** The gateway registers its meters in {@code registry}; {@code GET /metrics} answers {@code scrape} (Prometheus text). */
    public GatewayVerticle withMetrics(io.micrometer.core.instrument.MeterRegistry registry,
                                       java.util.function.Supplier<String> scrape) {
        this.meters = registry;
        this.scrape = scrape;
        return this;
    }

    /** The certificate and key the HTTP port (HTTPS) and every app TCP port speak TLS with; null: plain. */
    private io.vertx.core.net.PemKeyCertOptions tls;

    /**
     * Replicas in this process hand this gateway their output batches through {@code gateways} (as objects, on this
     * gateway's event loop) instead of the event bus; batches from elsewhere still arrive on the event bus.
     */
    public GatewayVerticle withLocalGateways(io.replicode.nat.LocalGateways gateways) {
        this.localGateways = gateways;
        return this;
    }

    /** HTTPS on the HTTP port and TLS on every app TCP port, with this PEM certificate (chain) and key. */
    public GatewayVerticle withTls(io.vertx.core.net.PemKeyCertOptions tls) {
        this.tls = tls;
        return this;
    }

    /** Port of the TCP event-bus bridge, or -1: none. */
    private int bridgePort = -1;
    private volatile io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge bridge;

    /**
     * A TCP event-bus bridge on {@code port} (Vert.x's: 4-byte length + JSON frames) for services that are not Java: it
     * lets in only requests to {@code replicode.app.<app>.request} (and their replies); every other address is refused.
     */
    public GatewayVerticle withEventBusBridge(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("event-bus bridge port " + port + " is outside 1..65535");
        }
        this.bridgePort = port;
        return this;
    }

    /** The bridge's port once it listens, or -1 without one. */
    public int eventBusBridgePort() {
        return bridge == null ? -1 : bridgePort;
    }

    /** Only these addresses may be sent to through the bridge: the apps' request addresses. */
    public static final String BRIDGE_PERMITTED = "replicode\\.app\\.[^.]+\\.request";

    private Future<?> listenBridge() {
        if (bridgePort < 0) {
            return Future.succeededFuture();
        }
        io.vertx.core.net.NetServerOptions options = new io.vertx.core.net.NetServerOptions();
        if (tls != null) {
            options.setSsl(true).setKeyCertOptions(tls);
        }
        var created = io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge.create(vertx, new io.vertx.ext.bridge.BridgeOptions()
                .addInboundPermitted(new io.vertx.ext.bridge.PermittedOptions().setAddressRegex(BRIDGE_PERMITTED)), options);
        String where = "event-bus bridge " + config.host() + ":" + bridgePort;
        return created.listen(bridgePort, config.host())
                .onSuccess(b -> bridge = b)
                .recover(t -> Future.failedFuture(ListenException.of(where, config.host(), bridgePort, t)));
    }

    /** Whether the gateway's ports speak TLS. */
    public boolean tls() {
        return tls != null;
    }

    /** The operator's token ({@link io.replicode.gateway.status.AdminToken}). */
    public GatewayVerticle withAdminToken(io.replicode.gateway.status.AdminToken token) {
        this.token = token;
        return this;
    }

    /** Why the node cannot serve writes now (null: it can), asked by {@code GET /ready} besides the gateway's own checks. */
    public GatewayVerticle withReadiness(java.util.function.Supplier<String> notReady) {
        this.notReady = notReady;
        return this;
    }

    /** A gateway of a cluster member ({@code cluster} null: a single node, where nothing is resent). */
    public GatewayVerticle(GatewayConfig config, PrintWriter out, ClusterLink cluster) {
        this.config = config;
        this.out = out;
        this.cluster = cluster;
    }

    /**
     * Binds every port and registers every consumer; fails with a {@link ListenException} when a port cannot
     * be bound (nothing is left listening then).
     */
    @Override
    public Future<?> start() {
        startedAtMs = System.currentTimeMillis();
        switchboard = new Switchboard(config, new Switchboard.Transport() {
            @Override
            public void publish(String app, IngressBatch batch) {
                byte[] bytes = batch.encode();
                if (cluster == null) {
                    vertx.eventBus().send(Addresses.ingress(app), Buffer.buffer(bytes));
                    return;
                }
                // No sequencer known: the batch waits in the unacknowledged ones until one is. A sequencer this
                // gateway has not sent to yet gets the waiting ones first, in order.
                String to = cluster.route().ingress(app);
                sendAll(to, unacked.publish(app, batch, bytes.length, System.currentTimeMillis(), to), batch, bytes);
            }

            @Override
            public void later(Runnable task) {
                context.runOnContext(v -> task.run());
            }

            @Override
            public long nowMs() {
                return System.currentTimeMillis();
            }
        }, out);

        if (meters != null) {
            io.replicode.gateway.status.GatewayMeters.register(meters, switchboard, unacked, cluster != null);
        }
        outputs = vertx.eventBus().consumer(Addresses.outputs(config.gatewayId()), m -> onOutputs(m.body()));
        if (localGateways != null) {
            localSink = batch -> context.runOnContext(v -> switchboard.onOutputs(batch));
            localGateways.register(config.gatewayId(), localSink);
        }
        for (GatewayConfig.App app : config.apps()) {
            // The divergence monitor names replicas whose outputs must no longer be released.
            vertx.eventBus().<io.vertx.core.json.JsonObject>consumer(Addresses.diverged(app.name()), m -> {
                Object body = m.body();
                if (body instanceof io.vertx.core.json.JsonObject j && j.getInteger("replica") != null) {
                    switchboard.router().distrust(app.name(), j.getInteger("replica"), j.getBoolean("diverged", true));
                } else {
                    switchboard.malformed("diverged notice on " + Addresses.diverged(app.name()));
                }
            });
        }
        if (cluster != null) {
            startClusterLink();
        }
        eventBus = new EventBusIngress(vertx, switchboard);
        tcp = new TcpIngress(vertx, switchboard, pacer, tls);
        HttpIngress ingress = new HttpIngress(vertx, switchboard);
        // Heads are read before the app is known: the most patient app's header timeout holds for all.
        heads = new HeadTimeouts(vertx, config.apps().stream().mapToLong(a -> a.limits().headerTimeoutMs()).max()
                .orElse(GatewayConfig.Limits.DEFAULT_HEADER_TIMEOUT_MS), pacer);
        statusGate = new StatusGate(config.statusPerSecond(), config.statusBurst(), config.statusProvider(),
                STATUS_PROVIDER_TIMEOUT_MS);

        Router router = Router.router(vertx);
        router.route().handler(heads::headArrived);
        router.get("/health").handler(this::health);
        router.get("/ready").handler(this::ready);
        router.get("/metrics").handler(this::metrics);
        router.get("/status").handler(this::status);
        router.get("/ui").handler(this::dashboard);
        router.route("/ui/*").handler(io.vertx.ext.web.handler.StaticHandler.create(UI_RESOURCES).setCachingEnabled(false));
        router.post("/admin/apps/:app/restart").handler(this::restartApp);
        router.post("/admin/apps/:app/upgrade").handler(this::upgradeApp);
        router.post("/admin/apps/:app/scale").handler(this::scaleApp);
        router.post("/admin/cluster/remove-member").handler(this::removeMember);
        router.route().handler(ingress::handle);
        HttpServerOptions httpOptions = new HttpServerOptions();
        if (tls != null) {
            httpOptions.setSsl(true).setKeyCertOptions(tls);
        }
        http = vertx.createHttpServer(httpOptions.setHost(config.host()).setPort(config.httpPort())
                .setHandle100ContinueAutomatically(true)
                // Detecting h2c holds a connection back from the connection handler until enough of the head
                // arrived, so a slow head would never time out; the gateway speaks HTTP/1.1.
                .setHttp2ClearTextEnabled(false));
        http.connectionHandler(heads::connected);
        http.requestHandler(router);
        String where = "http " + config.host() + ":" + config.httpPort() + " (the gateway's HTTP port)";
        Future<HttpServer> httpListening = http.listen()
                .onSuccess(s -> httpPort = s.actualPort())
                .recover(t -> Future.failedFuture(ListenException.of(where, config.host(), config.httpPort(), t)));

        return Future.all(List.of(outputs.completion(), eventBus.register(), tcp.listen(), httpListening, listenBridge()))
                .onSuccess(v -> endpoints = tcp.endpoints())
                .recover(t -> closeAll().transform(ar -> Future.failedFuture(t)));
    }

    private void startClusterLink() {
        switchboard.availability(cluster.unavailable());
        vertx.eventBus().<Buffer>consumer(Addresses.acks(config.gatewayId()), m -> {
            try {
                io.replicode.nat.IngressAck ack = io.replicode.nat.IngressAck.decode(m.body().getBytes());
                unacked.ack(ack.app(), ack.batchSeq());
            } catch (RuntimeException e) {
                switchboard.malformed("ingress ack on " + Addresses.acks(config.gatewayId()) + ": " + e.getMessage());
            }
        });
        for (GatewayConfig.App app : config.apps()) {
            vertx.eventBus().<io.vertx.core.json.JsonObject>consumer(Addresses.sequencer(app.name()), m -> {
                if (m.body() != null && "sequencing".equals(m.body().getString("state"))) {
                    resend(app.name());
                }
            });
        }
        vertx.setPeriodic(Math.max(100, cluster.resendAfterMs() / 2), id -> {
            long now = System.currentTimeMillis();
            for (GatewayConfig.App app : config.apps()) {
                // Another sequencer has none of what the last one did not acknowledge; an old batch may have been lost.
                String to = cluster.route().ingress(app.name());
                sendAll(to, unacked.due(app.name(), to, now, now - cluster.resendAfterMs()), null, null);
            }
        });
    }

    /** Sends {@code app}'s unacknowledged batches again, in order (the sequencer drops what it has). */
    private void resend(String app) {
        String to = cluster.route().ingress(app);
        sendAll(to, unacked.resendTo(app, to, System.currentTimeMillis()), null, null);
    }

    /** Sends {@code batches} in order to the sequencer at {@code to}; {@code encoded} is {@code known}'s encoding, if at hand. */
    private void sendAll(String to, List<IngressBatch> batches, IngressBatch known, byte[] encoded) {
        for (IngressBatch b : batches) {
            vertx.eventBus().send(to, Buffer.buffer(b == known ? encoded : b.encode()));
        }
    }

    /**
     * This member was cut off from the cluster long enough to be removed, and is back: the majority has declared this
     * gateway lost (every guest reset its connections at one frame), so its clients are cut off with {@code reason},
     * batches not yet acknowledged are dropped, and new connections start afresh. Any thread.
     */
    public void rejoined(String reason) {
        context.runOnContext(v -> {
            switchboard.shutdown(reason);
            unacked.clear();
            switchboard.availability(cluster.unavailable());
        });
    }

    /** Ingress batches sent in a cluster and not yet acknowledged (for /status). */
    public io.replicode.gateway.routing.UnackedBatches unacked() {
        return unacked;
    }

    /** Set once a graceful stop began: new connections and requests are refused, /ready answers 503. */
    private volatile boolean draining;

    /**
     * The first half of a graceful stop (SIGTERM), before {@link #stop}: new connections and requests are refused with
     * "the node is stopping", {@code /ready} answers 503, and the returned future completes once no connection has a
     * request in flight (HTTP and event-bus requests answered, TCP connections with nothing on the way to or from the
     * guest), or after {@code maxMs}, whichever is first. Idle TCP connections are then reset by {@link #stop}. Any thread.
     */
    public Future<Integer> drain(long maxMs) {
        Promise<Integer> done = Promise.promise();
        context.runOnContext(v -> {
            draining = true;
            switchboard.availability(() -> "the node is stopping");
            long deadline = System.currentTimeMillis() + maxMs;
            int busy = busyConnections();
            if (busy == 0) {
                done.complete(0);
                return;
            }
            out.println("replicode: stopping: " + busy + " connection(s) with a request in flight; waiting up to " + maxMs
                    + " ms for them");
            out.flush();
            vertx.setPeriodic(20, id -> {
                int left = busyConnections();
                if (left == 0 || System.currentTimeMillis() >= deadline) {
                    vertx.cancelTimer(id);
                    done.complete(left);
                }
            });
        });
        return done.future();
    }

    /** Connections with a request in flight: every HTTP or event-bus exchange, and TCP ones with bytes on the way. */
    private int busyConnections() {
        int busy = 0;
        for (var m : switchboard.nat().all()) {
            io.replicode.gateway.routing.Peer p = m.peer();
            if (m.kind() != io.replicode.nat.NatTable.Kind.TCP || p.inFlightToGuest() > 0 || p.pendingToClient() > 0
                    || p.heldFromClient() > 0) {
                busy++;
            }
        }
        return busy;
    }

    /** Resets every open connection (the guests are told) and closes every port. */
    @Override
    public Future<?> stop() {
        stopping = true;
        switchboard.shutdown("the gateway is stopping");
        return closeAll();
    }

    /** The bound HTTP port (also when configured as 0), or -1 before the gateway started. */
    public int httpPort() {
        return httpPort;
    }

    /** The bound TCP ports in configuration order, with actual port numbers. */
    public List<TcpIngress.Endpoint> tcpEndpoints() {
        return endpoints;
    }

    /** The bound port of {@code app}'s TCP binding to {@code listener}. */
    public int tcpPort(String app, String listener) {
        for (TcpIngress.Endpoint e : endpoints) {
            if (e.app().equals(app) && e.listener().equals(listener)) {
                return e.port();
            }
        }
        throw new IllegalArgumentException("app '" + app + "' has no TCP port for listener '" + listener + "'");
    }

    /** The JSON of {@code GET /status}, taken on the gateway's event loop. */
    public Future<JsonObject> status() {
        Promise<JsonObject> p = Promise.promise();
        context.runOnContext(v -> statusJson().onComplete(p));
        return p.future();
    }

    public GatewayConfig gatewayConfig() {
        return config;
    }

    private void onOutputs(Object body) {
        if (body instanceof Buffer b) {
            switchboard.onOutputs(b.getBytes());
        } else if (body instanceof byte[] b) {
            switchboard.onOutputs(b);
        } else {
            switchboard.malformed("message of type " + (body == null ? "null" : body.getClass().getName())
                    + " on " + Addresses.outputs(config.gatewayId()) + " (expected an encoded OutputBatch Buffer)");
        }
    }

    private void health(RoutingContext ctx) {
        boolean up = !stopping && httpPort > 0;
        ctx.response().setStatusCode(up ? 200 : 503).putHeader("Content-Type", "application/json")
                .end(new JsonObject().put("status", up ? "UP" : "DOWN").put("gateway", config.gatewayId()).encode() + "\n");
    }

    /**
     * {@code GET /ready}: readiness, as a load balancer or Kubernetes asks it. 503 with the reason while this node cannot
     * serve writes (the gateway is stopping; in a cluster, this member is cut off from the majority or its replicas are
     * catching up; an app is stopped), 200 otherwise. {@code /health} is liveness: up while the process serves HTTP.
     */
    private void ready(RoutingContext ctx) {
        String why = notReadyReason();
        ctx.response().setStatusCode(why == null ? 200 : 503).putHeader("Content-Type", "application/json")
                .end((why == null ? new JsonObject().put("status", "READY")
                        : new JsonObject().put("status", "NOT_READY").put("reason", why)).put("gateway", config.gatewayId())
                        .encode() + "\n");
    }

    private String notReadyReason() {
        if (stopping || draining || httpPort <= 0) {
            return "the gateway is stopping";
        }
        if (cluster != null) {
            String why = cluster.unavailable().get();
            if (why != null) {
                return why;
            }
        }
        String why = notReady.get();
        if (why != null) {
            return why;
        }
        for (GatewayConfig.App app : config.apps()) {
            String stopped = switchboard.stopReason(app.name());
            if (stopped != null) {
                return "app '" + app.name() + "' is stopped: " + stopped + ". Fix: ./replicode restart --app " + app.name();
            }
        }
        return null;
    }

    /** Where the dashboard's files lie in the jar (static files; no Node.js at run time). */
    static final String UI_RESOURCES = "replicode-ui";

    /**
     * {@code GET /ui[?token=T]}: the dashboard (its page at {@code /ui/} reads {@code /status} every second). With an
     * admin token, {@code ?token=} is taken once: the right one is kept in an HTTP-only cookie and the page opens
     * without it in its address; a wrong one is 401.
     */
    private void dashboard(RoutingContext ctx) {
        if (!ctx.request().path().equals("/ui")) {
            ctx.next(); // "/ui/" (the route takes it too): the page itself
            return;
        }
        String given = ctx.request().getParam("token");
        if (given != null && token.isSet()) {
            if (!token.matches(given)) {
                adminAnswer(ctx, 401, new JsonObject().put("error", "that is not the admin token")
                        .put("fix", "open /ui?token=<the value of REPLICODE_ADMIN_TOKEN>"));
                return;
            }
            ctx.response().addCookie(io.vertx.core.http.Cookie.cookie(io.replicode.gateway.status.AdminToken.COOKIE, given)
                    .setPath("/").setHttpOnly(true).setSameSite(io.vertx.core.http.CookieSameSite.STRICT)
                    .setSecure(tls != null));
        }
        ctx.response().setStatusCode(302).putHeader("Location", "/ui/").end();
    }

    /** {@code GET /metrics}: every meter in Prometheus's text format (scraped on this event loop: it reads the gateway's state). */
    private void metrics(RoutingContext ctx) {
        if (scrape == null) {
            adminAnswer(ctx, 404, new JsonObject().put("error", "this node keeps no metrics (it was started with --no-metrics)")
                    .put("fix", "start it without --no-metrics"));
            return;
        }
        ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(scrape.get());
    }

    /**
     * {@code POST /admin/apps/<app>/restart}: the app's module starts afresh on its files at the frame that carries
     * the request (a stopped app serves again). Only loopback clients may ask until the admin API has a token.
     */
    private void restartApp(RoutingContext ctx) {
        String app = ctx.pathParam("app");
        if (!adminAllowed(ctx, app, "restart")) {
            return;
        }
        String was = switchboard.stopReason(app);
        switchboard.requestRestart(app);
        adminAnswer(ctx, 202, new JsonObject().put("app", app).put("restart", "requested")
                .put("wasStopped", was != null).put("stoppedReason", was));
    }

    /**
     * Address (this process only) where the node checks an upgrade: the body is the new module's bytes, the headers
     * {@code app}, {@code acceptDifferences} and {@code canaryFrames} (empty: the default window). The reply is a JSON object with an HTTP {@code status}: 202 with the
     * {@code module} hash once it is stored and its canary passed, or the refusal (400, 409) with what and why.
     */
    public static final String UPGRADE_ADDRESS = "replicode.admin.upgrade";

    /** Largest module an upgrade takes. */
    public static final long MAX_MODULE_BYTES = 64L << 20;

    /** Frames of grace the old guest gets by default to save and exit. */
    public static final int DEFAULT_GRACE_FRAMES = 50;

    /**
     * {@code POST /admin/apps/<app>/upgrade[?graceFrames=N&canaryFrames=N&acceptDifferences=true]} with the module as the
     * body: the
     * node tries the module on the app's recorded traffic (the canary), stores it, and then this gateway sequences the
     * switch ({@link Switchboard#requestUpgrade}), so every replica switches at the same frame. Loopback clients only.
     */
    private void upgradeApp(RoutingContext ctx) {
        String app = ctx.pathParam("app");
        if (!adminAllowed(ctx, app, "upgrade")) {
            return;
        }
        int grace;
        try {
            grace = Integer.parseInt(ctx.request().getParam("graceFrames", Integer.toString(DEFAULT_GRACE_FRAMES)));
            if (grace < 1 || grace > IngressEvent.Upgrade.MAX_GRACE_FRAMES) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            adminAnswer(ctx, 400, new JsonObject().put("error", "graceFrames must be 1.." + IngressEvent.Upgrade.MAX_GRACE_FRAMES)
                    .put("fix", "pass e.g. graceFrames=" + DEFAULT_GRACE_FRAMES));
            return;
        }
        boolean accept = "true".equals(ctx.request().getParam("acceptDifferences"));
        String window = ctx.request().getParam("canaryFrames", "");
        if (!window.isEmpty() && !window.matches("[1-9][0-9]{0,8}")) {
            adminAnswer(ctx, 400, new JsonObject().put("error", "canaryFrames must be a positive number, got '" + window + "'")
                    .put("fix", "pass e.g. canaryFrames=10000"));
            return;
        }
        String length = ctx.request().getHeader("Content-Length");
        if (length == null || !length.matches("[0-9]{1,12}") || Long.parseLong(length) > MAX_MODULE_BYTES) {
            adminAnswer(ctx, length == null ? 411 : 413, new JsonObject().put("error", "the module must come as a body with a"
                    + " Content-Length of at most " + MAX_MODULE_BYTES + " bytes, got " + length)
                    .put("fix", "POST the .wasm file as the request body (./replicode upgrade does)"));
            return;
        }
        ctx.request().body().onFailure(t -> adminAnswer(ctx, 400, new JsonObject().put("error", "reading the module: " + t)))
                .onSuccess(module -> vertx.eventBus().<JsonObject>request(UPGRADE_ADDRESS, module,
                        new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true).setSendTimeout(600_000)
                                .addHeader("app", app).addHeader("acceptDifferences", Boolean.toString(accept))
                                .addHeader("canaryFrames", window).addHeader("graceFrames", Integer.toString(grace)))
                        .onSuccess(reply -> {
                            JsonObject r = reply.body().copy();
                            int status = (Integer) r.remove("status");
                            if (status == 202) {
                                switchboard.requestUpgrade(app, r.getString("module"), grace);
                                r.put("graceFrames", grace).put("upgrade", "requested");
                            }
                            adminAnswer(ctx, status, r);
                        })
                        .onFailure(t -> adminAnswer(ctx, noHandler(t) ? 501 : 503, new JsonObject()
                                .put("error", noHandler(t) ? "this process runs a gateway only and does not check upgrades"
                                        : "the upgrade check failed: " + t.getMessage())
                                .put("fix", "ask a node or member that runs the app's replicas (--node URL)"))));
    }

    /** The request found nobody in this process to answer it (the node does not offer that admin action). */
    private static boolean noHandler(Throwable t) {
        return t instanceof io.vertx.core.eventbus.ReplyException re
                && re.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS;
    }

    /**
     * Address (this process only) where the node changes an app's replica count: a JSON object with {@code app},
     * {@code replicas} and, in a cluster, optionally the {@code member} (HOST:PORT) whose replicas change (this one when
     * absent); the reply has an HTTP {@code status} and what changed.
     */
    public static final String SCALE_ADDRESS = "replicode.admin.scale";

    /**
     * {@code POST /admin/apps/<app>/scale?replicas=N[&member=HOST:PORT]}: the node (or the cluster member named) adds or
     * removes replicas of the app. Loopback only.
     */
    private void scaleApp(RoutingContext ctx) {
        String app = ctx.pathParam("app");
        if (!adminAllowed(ctx, app, "scale")) {
            return;
        }
        int n;
        try {
            n = Integer.parseInt(ctx.request().getParam("replicas", ""));
        } catch (NumberFormatException e) {
            adminAnswer(ctx, 400, new JsonObject().put("error", "replicas must be a number, got '"
                    + ctx.request().getParam("replicas") + "'").put("fix", "POST /admin/apps/" + app + "/scale?replicas=N"));
            return;
        }
        JsonObject ask = new JsonObject().put("app", app).put("replicas", n);
        String member = ctx.request().getParam("member", "");
        if (!member.isEmpty()) {
            ask.put("member", member);
        }
        vertx.eventBus().<JsonObject>request(SCALE_ADDRESS, ask,
                        new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true).setSendTimeout(300_000))
                .onSuccess(reply -> {
                    JsonObject r = reply.body().copy();
                    adminAnswer(ctx, (Integer) r.remove("status"), r);
                })
                .onFailure(t -> adminAnswer(ctx, noHandler(t) ? 501 : 503, new JsonObject().put("error", "scaling is not available here: " + t.getMessage())
                                .put("fix", "ask a node or cluster member that runs the app's replicas (--node URL)")));
    }

    /**
     * With an admin token: requests that carry it (401 otherwise), from anywhere. Without one: loopback clients only
     * (403 otherwise). And a known app (404). Returns false when it answered.
     */
    private boolean adminAllowed(RoutingContext ctx, String app, String command) {
        if (!token.check(ctx, "the admin API")) {
            return false;
        }
        String client = ctx.request().remoteAddress() == null ? "" : ctx.request().remoteAddress().hostAddress();
        if (!token.isSet() && !isLoopback(client)) {
            adminAnswer(ctx, 403, new JsonObject().put("error", "the admin API answers loopback clients only, not " + client)
                    .put("fix", "run ./replicode " + command + " on the node's machine"));
            return false;
        }
        if (config.apps().stream().noneMatch(a -> a.name().equals(app))) {
            adminAnswer(ctx, 404, new JsonObject().put("error", "no app '" + app + "' on this node")
                    .put("fix", "use one of " + config.apps().stream().map(GatewayConfig.App::name).toList()));
            return false;
        }
        return true;
    }

    /** Address (this process only) where the cluster member removes a member from every app's Raft group. */
    public static final String REMOVE_MEMBER_ADDRESS = "replicode.admin.remove-member";

    private void removeMember(RoutingContext ctx) {
        if (!token.check(ctx, "the admin API")) {
            return;
        }
        String client = ctx.request().remoteAddress() == null ? "" : ctx.request().remoteAddress().hostAddress();
        if (!token.isSet() && !isLoopback(client)) {
            adminAnswer(ctx, 403, new JsonObject().put("error", "the admin API answers loopback clients only, not " + client)
                    .put("fix", "run ./replicode remove-member on a member's machine"));
            return;
        }
        String member = ctx.request().getParam("member");
        if (cluster == null || member == null || member.isBlank()) {
            adminAnswer(ctx, cluster == null ? 404 : 400, new JsonObject()
                    .put("error", cluster == null ? "this node is not a cluster member" : "no member given")
                    .put("fix", "POST /admin/cluster/remove-member?member=HOST:PORT to a member of the cluster"));
            return;
        }
        vertx.eventBus().<JsonObject>request(REMOVE_MEMBER_ADDRESS, new JsonObject().put("member", member),
                new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true).setSendTimeout(60_000))
                .onSuccess(reply -> adminAnswer(ctx, 200, reply.body()))
                .onFailure(t -> adminAnswer(ctx, 503, new JsonObject().put("error", t.getMessage())
                        .put("fix", "check that a majority of the members is up, then try again")));
    }

    private static boolean isLoopback(String address) {
        try {
            return java.net.InetAddress.getByName(address).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static void adminAnswer(RoutingContext ctx, int status, JsonObject body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode() + "\n");
    }

    private void status(RoutingContext ctx) {
        if (!token.check(ctx, "/status")) {
            return;
        }
        var client = ctx.request().remoteAddress();
        long waitMs = statusGate.admit(client == null ? null : client.hostAddress(), System.currentTimeMillis());
        if (waitMs > 0) {
            ctx.response().putHeader("Retry-After", Long.toString((waitMs + 999) / 1000));
            HttpIngress.error(ctx.response(), 429, "/status is limited to " + config.statusPerSecond()
                    + " requests per second per client address (burst " + config.statusBurst() + ")");
            return;
        }
        statusJson().onComplete(ar -> ctx.response().putHeader("Content-Type", "application/json")
                .end(ar.result().encodePrettily() + "\n"));
    }

    private Future<JsonObject> statusJson() {
        // Client addresses and request lines only to those who hold the admin token (none set: to nobody).
        JsonObject status = StatusReport.of(switchboard, endpoints, httpPort, startedAtMs, System.currentTimeMillis(),
                token.isSet());
        if (cluster != null) {
            JsonObject byApp = new JsonObject();
            for (GatewayConfig.App app : config.apps()) {
                byApp.put(app.name(), unacked.count(app.name()));
            }
            status.put("unacknowledgedBatches", byApp.put("bytes", unacked.bytes()).put("resent", unacked.resent())
                    .put("acknowledged", unacked.acked()));
            String why = cluster.unavailable().get();
            if (why != null) {
                status.put("unavailable", why);
            }
        }
        status.put("limits", new JsonObject()
                .put("statusRateLimited", statusGate.limited())
                .put("statusProviderCalls", statusGate.providerCalls())
                .put("httpHeadTimeouts", heads.headTimeouts())
                .put("httpKeepAliveClosed", heads.keepAliveClosed())
                .put("httpConnections", heads.open())
                .put("acceptPauses", pacer.pauses())
                .put("acceptRefusedFilesShort", pacer.refused())
                .put("acceptErrors", pacer.acceptErrors())
                .put("openFilesLimit", pacer.files().limit() == Long.MAX_VALUE ? null : pacer.files().limit())
                .put("openFilesSampled", pacer.files().lastOpen()));
        if (config.statusProvider() == null) {
            return Future.succeededFuture(status);
        }
        return statusGate.pipeline().map(pipeline -> status.put("pipeline", pipeline));
    }

    private Future<Void> closeAll() {
        List<Future<?>> closing = new ArrayList<>();
        if (http != null) {
            closing.add(http.close());
        }
        if (tcp != null) {
            closing.add(tcp.close());
        }
        if (eventBus != null) {
            closing.add(eventBus.unregister());
        }
        if (bridge != null) {
            closing.add(bridge.close());
        }
        if (outputs != null) {
            closing.add(outputs.unregister());
        }
        if (localSink != null) {
            localGateways.unregister(config.gatewayId(), localSink);
        }
        return Future.join(closing).mapEmpty();
    }
}
