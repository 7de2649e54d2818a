package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.EmbeddedNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** What the guest tests of an embedded node read from it: an app's pipeline status, replica agreement, offline replay. */
final class NodeProbe {
    private NodeProbe() {}

    /** The app's part of the node's {@code /status} pipeline. */
    static JsonObject pipeline(EmbeddedNode node, String app) throws Exception {
        JsonObject status = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        return status.getJsonObject("pipeline").getJsonObject("apps").getJsonObject(app);
    }

    /**
     * Waits (bounded) until {@code count} replicas of {@code app} show one state digest, taken at one frame, at or after
     * the log's last frame now; returns that "frame/digest".
     */
    static String awaitReplicasAgree(EmbeddedNode node, String app, int count) throws Exception {
        long from = pipeline(node, app).getJsonObject("log").getLong("lastSeq");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "";
        while (System.nanoTime() < deadline) {
            JsonArray replicas = pipeline(node, app).getJsonArray("replicas");
            Set<String> points = new HashSet<>();
            long digestSeq = -1;
            for (int i = 0; i < replicas.size(); i++) {
                digestSeq = replicas.getJsonObject(i).getLong("digestSeq", -1L);
                points.add(digestSeq + "/" + replicas.getJsonObject(i).getString("digest"));
            }
            seen = replicas.size() + " replicas: " + points;
            if (replicas.size() == count && points.size() == 1 && digestSeq >= from) {
                return points.iterator().next();
            }
            Thread.sleep(50);
        }
        fail("the replicas of '" + app + "' do not agree at or after frame " + from + ": " + seen);
        return null;
    }

    /** {@code replicode replay verify} of {@code app} in {@code data} (a stopped node's) exits 0. */
    static void replayVerifies(Path data, String app, String why) {
        StringWriter verify = new StringWriter();
        var cli = ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(verify, true));
        cli.setErr(new PrintWriter(verify, true));
        assertEquals(0, cli.execute("replay", "verify", "--data", data.toString(), "--app", app), why + ": " + verify);
    }
}
