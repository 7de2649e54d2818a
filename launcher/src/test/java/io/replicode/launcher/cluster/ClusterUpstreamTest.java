package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.launcher.UpstreamServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outbound connections in a three-member cluster: the guest {@code rc_lines} (RepliCode's interface) connects out
 * through whichever member a client reaches, and the connection is made once, by the member that sequences the app;
 * when that member is killed, the connection it held is reset at one frame on every replica, the client is answered,
 * and connects made afterwards go through the new leader, each once.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ClusterUpstreamTest {
    private static final int READ_TIMEOUT_MS = 60_000;

    @TempDir
    Path dir;

    @Test
    void a_connect_is_made_once_by_the_leader_and_reset_when_sequencing_moves() throws Exception {
        try (UpstreamServer upper = UpstreamServer.upper(); UpstreamServer holding = UpstreamServer.holding()) {
            Map<Member, Integer> rcPorts = new HashMap<>();
            JsonObject rc = new JsonObject().put("module", io.replicode.node.TestGuests.module("rc_lines").toString())
                    .put("listeners", new JsonArray().add("lines"))
                    .put("upstreams", new JsonArray().add("127.0.0.1:" + upper.port()).add("127.0.0.1:" + holding.port()));
            try (TestCluster cluster = TestCluster.start(dir, 3, 0, new JsonObject().put("snapshotEveryFrames", 200)
                    .put("apps", new JsonObject().put("rc", rc)), m -> {
                        try {
                            int port = Member.freePort();
                            rcPorts.put(m, port);
                            m.extraArgs.addAll(List.of("--tcp", port + "=rc:lines"));
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    })) {
                for (Member m : cluster.voters()) {
                    assertEquals("HELLO VIA " + m.index + "\n",
                            session(rcPorts.get(m), "FETCH 127.0.0.1 " + upper.port() + " hello via " + m.index + "\n"), m.toString());
                }
                assertEquals(3, upper.accepted(), "one upstream connection per guest connect: three members, three replicas");

                Member leader = rcLeader(cluster);
                Member via = cluster.votersBut(leader).get(0);
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), rcPorts.get(via))) {
                    client.setSoTimeout(READ_TIMEOUT_MS);
                    client.getOutputStream().write(("FETCH 127.0.0.1 " + holding.port() + " wait\n").getBytes(StandardCharsets.UTF_8));
                    awaitAccepted(holding, 1);
                    leader.kill();
                    assertTrue(holding.heldConnectionsEnded(30_000), "the old leader's connection ended with it");
                    client.getOutputStream().write("GET nothing\n".getBytes(StandardCharsets.UTF_8));
                    client.shutdownOutput();
                    String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    // Either the connect's outcome was in a frame before the kill (then the reset ends the FETCH with
                    // nothing), or it was not (then the connect itself fails with ECONNABORTED at the new epoch).
                    assertTrue(answer.equals("NIL\n") || answer.equals("ERR connect 13\nNIL\n"),
                            "the FETCH ended by the reset and the client was served on: " + answer);
                }
                assertEquals(1, holding.accepted());
                Member newLeader = rcLeader(cluster);
                assertTrue(newLeader != leader, "sequencing moved");
                for (Member m : cluster.votersBut(leader)) {
                    assertEquals("AFTER " + m.index + "\n",
                            session(rcPorts.get(m), "FETCH 127.0.0.1 " + upper.port() + " after " + m.index + "\n"), m.toString());
                }
                assertEquals(5, upper.accepted(), "the new leader connects, each connect once");
                for (Member m : cluster.votersBut(leader)) {
                    // The answer came from the first replica's outputs; this member's may still be a frame or two behind.
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    JsonObject replica = rc(m).getJsonArray("replicas").getJsonObject(0);
                    while (replica.getInteger("outboundConnections") != 0 && System.nanoTime() < deadline) {
                        Thread.sleep(50);
                        replica = rc(m).getJsonArray("replicas").getJsonObject(0);
                    }
                    assertEquals("replicode", replica.getString("socketAbi"), replica.encode());
                    assertEquals(0, replica.getInteger("outboundConnections"), "every upstream connection closed: " + replica.encode());
                }
                rcReplicasAgree(cluster.votersBut(leader));
            }
        }
    }

    private static JsonObject rc(Member m) throws IOException, InterruptedException {
        return m.status().getJsonObject("pipeline").getJsonObject("apps").getJsonObject("rc");
    }

    /** Waits (bounded) until the rc replicas of {@code members} show one digest, taken at one frame. */
    private static void rcReplicasAgree(List<Member> members) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String seen = "";
        while (System.nanoTime() < deadline) {
            java.util.Set<String> points = new java.util.HashSet<>();
            StringBuilder b = new StringBuilder();
            for (Member m : members) {
                JsonObject r = rc(m).getJsonArray("replicas").getJsonObject(0);
                points.add(r.getLong("digestSeq", -1L) + "/" + r.getString("digest"));
                b.append(m).append(": ").append(r.getLong("digestSeq", -1L)).append('/').append(r.getString("digest")).append("; ");
            }
            seen = b.toString();
            if (points.size() == 1 && !points.iterator().next().endsWith("/null")) {
                return;
            }
            Thread.sleep(100);
        }
        fail("the rc replicas do not agree: " + seen);
    }

    /** The member that sequences rc (bounded wait). */
    private static Member rcLeader(TestCluster cluster) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (Member m : cluster.live()) {
                try {
                    JsonObject seq = rc(m).getJsonObject("sequencer");
                    if (seq != null && "sequencing".equals(seq.getString("state"))) {
                        return m;
                    }
                } catch (IOException e) {
                    // starting or stopping: ask the next one
                }
            }
            Thread.sleep(100);
        }
        fail("no member sequences rc");
        return null;
    }

    private static void awaitAccepted(UpstreamServer s, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (s.accepted() < n) {
            assertTrue(System.nanoTime() < deadline, "the upstream saw " + s.accepted() + " connections, not " + n);
            Thread.sleep(20);
        }
    }

    private static String session(int port, String input) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(READ_TIMEOUT_MS);
            s.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
