package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.EmbeddedNode;
import io.replicode.node.TestGuests;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * An embedded node running the kv guest (RESP on an ephemeral port, HTTP at {@code /kv/} on the gateway's port, three
 * replicas), and the CLI pointed at it.
 */
final class KvNode implements AutoCloseable {
    final StringWriter output = new StringWriter();
    final EmbeddedNode node;

    KvNode(Path data) {
        this(data, 3);
    }

    /** With {@code replicas} replicas configured. */
    KvNode(Path data, int replicas) {
        this(data, replicas, io.replicode.node.config.Operations.NONE);
    }

    /** With {@code replicas} replicas configured, operated as {@code ops} says (the admin token). */
    KvNode(Path data, int replicas, io.replicode.node.config.Operations ops) {
        AppConfig kv = new AppConfig("kv", TestGuests.module("kv_server"), List.of("resp", "http"),
                List.of(new TcpBinding(0, "resp")), GuestLimits.DEFAULT, 64, List.of(), java.util.Map.of(),
                AppConfig.DEFAULT_PREOPENS, "http");
        node = EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, data, Batching.DEFAULT, List.of(kv), 0, replicas,
                ReplayLog.FsyncPolicy.ALWAYS, 1000), ops, new PrintWriter(output, true));
    }

    Jedis kv() {
        return new Jedis("127.0.0.1", node.tcpEndpoints().get(0).port(), 20_000);
    }

    /** An HTTP request to kv through the gateway: {@code method} on {@code /kv/<key>}; returns status and body. */
    String http(String method, String key, String body) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url() + "/kv/" + key))
                .timeout(java.time.Duration.ofSeconds(20))
                .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                        : java.net.http.HttpRequest.BodyPublishers.ofString(body)).build();
        var r = java.net.http.HttpClient.newHttpClient().send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    String url() {
        return "http://127.0.0.1:" + node.httpPort();
    }

    /** What a CLI run printed and returned. */
    record Run(int exit, String out, String err) {}

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    JsonObject pipeline() throws Exception {
        JsonObject s = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        return s.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv");
    }

    /**
     * Waits until {@code count} replicas show the same state digest, taken at the same frame, at or after the frame the
     * log held when called (so one computed after whatever came before), running {@code module} (any when null); returns
     * that frame. Under a write load replicas run ahead of their last digest, so only the digest's frame is compared.
     */
    long replicasAgree(int count, String module) throws Exception {
        long from = pipeline().getJsonObject("log").getLong("lastSeq");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "";
        while (System.nanoTime() < deadline) {
            JsonArray rs = pipeline().getJsonArray("replicas");
            Set<String> points = new HashSet<>();
            long digestSeq = -1;
            for (int i = 0; i < rs.size(); i++) {
                JsonObject r = rs.getJsonObject(i);
                digestSeq = r.getLong("digestSeq", -1L);
                points.add(digestSeq + "/" + r.getString("digest") + "/" + (module == null ? "" : r.getString("module")));
            }
            seen = rs.size() + " replicas: " + points;
            if (rs.size() == count && points.size() == 1 && digestSeq >= from
                    && (module == null || points.iterator().next().endsWith("/" + module))) {
                return digestSeq;
            }
            Thread.sleep(50);
        }
        fail("the replicas do not agree" + (module == null ? "" : " on module " + module.substring(0, 12)) + " at or after frame "
                + from + ": " + seen);
        return -1;
    }

    @Override
    public void close() {
        node.close();
    }
}
