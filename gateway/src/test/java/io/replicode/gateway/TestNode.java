package io.replicode.gateway;

import io.replicode.replica.GuestLimits;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * A gateway with the {@link PipelineStandIn} behind it, in one Vert.x, on free ports:
 * <ul>
 *   <li>{@code echo}: the echo_server guest on listener "main", TCP port;</li>
 *   <li>{@code web}: a fake HTTP app (1 MiB request limit);</li>
 *   <li>{@code halt}: a fake HTTP app with a TCP port too, for stopping.</li>
 * </ul>
 */
final class TestNode implements AutoCloseable {
    static final int GATEWAY = 5;
    static final long TIMEOUT_MS = 2_000;
    static final int WEB_MAX_BODY = 1 << 20;
    /** The guest's own windows, as the launcher will pass them. */
    static final GatewayConfig.Limits LIMITS = new GatewayConfig.Limits(GuestLimits.DEFAULT.receiveBufferBytes(),
            GuestLimits.DEFAULT.sendWindowBytes(), 64L << 20, 16L << 20, 1000);

    final Vertx vertx = Vertx.vertx();
    final StringWriter log = new StringWriter();
    final PipelineStandIn pipeline;
    final GatewayVerticle gateway;
    private final String gatewayDeployment;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** The standard node of the gateway tests (see the class comment). */
    TestNode() {
        this(c -> c);
    }

    /** The standard node, with changes to the gateway's configuration. */
    TestNode(UnaryOperator<GatewayConfig> adjust) {
        this(adjust.apply(GatewayConfig.of(GATEWAY, "127.0.0.1", List.of(
                        GatewayConfig.App.of("echo", List.of("main")).withTcp(0, "main").withLimits(LIMITS),
                        GatewayConfig.App.of("web", List.of("http")).withLimits(LIMITS.withMaxRequestBodyBytes(WEB_MAX_BODY)),
                        GatewayConfig.App.of("halt", List.of("http", "main")).withTcp(0, "main").withLimits(LIMITS)))
                .withHttpPort(0)
                .withRequestTimeoutMs(TIMEOUT_MS)
                // Tests poll /status often; GatewayLimitsTest checks the default rate.
                .withStatusRate(1_000, 1_000)
                .withStatusProvider(() -> Future.succeededFuture(new JsonObject().put("replicas", PipelineStandIn.REPLICAS)))),
                Map.of("echo", new PipelineStandIn.Guest("echo_server", List.of("main"))), List.of("web", "halt"));
    }

    /** A gateway configured by {@code config}, with the stand-in running {@code guests} and {@code fakes} behind it. */
    TestNode(GatewayConfig config, Map<String, PipelineStandIn.Guest> guests, List<String> fakes) {
        pipeline = new PipelineStandIn(config.gatewayId(), guests, fakes);
        gateway = new GatewayVerticle(config, new PrintWriter(log, true));
        // The gateway first: the guests' first frame already has outputs for it (their startup log lines).
        gatewayDeployment = await(vertx.deployVerticle(gateway));
        await(vertx.deployVerticle(pipeline));
    }

    static <T> T await(Future<T> f) {
        try {
            return f.await(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer within 20 s", e);
        }
    }

    int tcpPort(String app) {
        return gateway.tcpPort(app, "main");
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + gateway.httpPort() + path);
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonObject status() throws Exception {
        HttpResponse<String> r = get("/status");
        if (r.statusCode() != 200) {
            throw new AssertionError("/status answered " + r.statusCode() + ": " + r.body());
        }
        return new JsonObject(r.body());
    }

    /** Polls {@code condition} until it holds; fails after 10 s with {@code what}. */
    static void eventually(String what, BooleanSupplier condition) throws Exception {
        io.replicode.testing.Poll.until(what, java.time.Duration.ofSeconds(10), condition::getAsBoolean);
    }

    @Override
    public void close() {
        // The gateway first: it resets its connections, and the stand-in is still there to receive that.
        await(vertx.undeploy(gatewayDeployment));
        await(vertx.close());
    }
}
