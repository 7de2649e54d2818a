package io.replicode.launcher.embedded;

import io.replicode.node.EmbeddedNode;
import io.replicode.testing.Poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.DigestLog;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Injected nondeterminism: one replica's random_get answers differently (its first incarnation gets another
 * genesis seed). The divergence is detected live at the exact frame, the replica's outputs stop being
 * released, it is rebuilt from a healthy replica, and afterwards all replicas agree again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DivergenceTest {
    @TempDir
    Path data;

    private static JsonObject divergence(EmbeddedNode node) throws Exception {
        JsonObject status = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        if (status.getJsonObject("pipeline") == null || status.getJsonObject("pipeline").getJsonObject("apps") == null) {
            throw new AssertionError("no pipeline status: " + status.encode());
        }
        return status.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("probe").getJsonObject("divergence");
    }

    private static JsonArray replicas(EmbeddedNode node) throws Exception {
        JsonObject status = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        return status.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("probe").getJsonArray("replicas");
    }

    @Test
    void a_replica_that_answers_differently_is_caught_at_the_exact_frame_and_rebuilt() throws Exception {
        AtomicBoolean perturbed = new AtomicBoolean();
        EmbeddedNode.MachineHook hook = (app, replica) -> (module, config) -> {
            if (replica == 2 && perturbed.compareAndSet(false, true)) {
                // The injected fault: this replica's random_get draws from another stream.
                byte[] seed = config.genesisSeed().clone();
                seed[0] ^= 1;
                return GuestMachine.create(module, config.withGenesis(seed, config.genesisTimeNs()));
            }
            return GuestMachine.create(module, config);
        };
        AppConfig probe = new AppConfig("probe", TestGuests.module("probe"), List.of("main"), List.of(new TcpBinding(0, "main")),
                GuestLimits.DEFAULT, 64);
        StringWriter printed = new StringWriter();
        long alarmSeq;
        EmbeddedNode node = EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, data, Batching.DEFAULT, List.of(probe),
                0, 3, ReplayLog.FsyncPolicy.ALWAYS, 1000), new PrintWriter(printed, true), hook);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), node.tcpEndpoints().get(0).port())) {
            s.setSoTimeout(15_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            s.getOutputStream().write("clock\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(in.readLine().startsWith("realtime "));
            assertEquals(0, divergence(node).getInteger("divergences"), "the clock is the same everywhere");

            long injectedAt = System.nanoTime();
            s.getOutputStream().write("random 8\n".getBytes(StandardCharsets.US_ASCII));
            in.readLine();
            Poll.until("the divergence alarm", java.time.Duration.ofSeconds(30), () -> divergence(node).getInteger("divergences") > 0);
            long alarmMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - injectedAt);
            System.out.println("divergence: injected request to alarm in " + alarmMs + " ms");

            JsonObject alarm = divergence(node).getJsonArray("alarms").getJsonObject(0);
            assertEquals(2, alarm.getInteger("replica"), alarm.encode());
            assertEquals(Set.of(1, 3), new HashSet<>(alarm.getJsonArray("healthyReplicas").getList()), alarm.encode());
            assertTrue(printed.toString().contains("DIVERGENCE in app 'probe' at frame " + alarm.getLong("seq")), printed.toString());
            // The exact frame: the first one whose recorded outputs differ between replica 1 and replica 2 ... which is
            // the frame that carried "random 8" (replica 2's digest log is replaced by the rebuild, so compare first).
            long firstDifferent = firstDifferingSeq(data.resolve("probe/replica-1/digests.log"), alarm);
            assertEquals(firstDifferent, alarm.getLong("seq"));

            Poll.until("the rebuild", java.time.Duration.ofSeconds(30), () -> divergence(node).getJsonArray("rebuilding").isEmpty()
                    && printed.toString().contains("replica 2 rebuilt from"));
            for (int i = 0; i < 3; i++) {
                s.getOutputStream().write("random 8\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals(16, in.readLine().length());
            }
            Poll.until("all replicas at one digest", java.time.Duration.ofSeconds(30), () -> {
                JsonArray r = replicas(node);
                Set<String> points = new HashSet<>();
                for (int i = 0; i < r.size(); i++) {
                    points.add(r.getJsonObject(i).getLong("lastSeq") + "/" + r.getJsonObject(i).getString("digest"));
                }
                return r.size() == 3 && points.size() == 1;
            });
            assertEquals(1, divergence(node).getInteger("divergences"), "the rebuilt replica agrees: no new alarm");
            alarmSeq = alarm.getLong("seq");
        } finally {
            node.close();
        }
        assertFalse(printed.toString().contains("could not be rebuilt"), printed.toString());

        // Offline: re-executing the log agrees with the healthy replica's record ...
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        assertEquals(0, cli.execute("replay", "verify", "--data", data.toString(), "--app", "probe", "--replica", "1"),
                out + "\n" + err);
        assertTrue(out.toString().contains("0 divergences"), out.toString());
        // ... and names the exact frame where the diverged replica's preserved record parts from it.
        Path diverged = data.resolve("probe/replica-2/digests.diverged-at-" + alarmSeq + ".log");
        assertTrue(java.nio.file.Files.exists(diverged), "the diverged replica's record is kept");
        StringWriter out2 = new StringWriter();
        var cli2 = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli2.setOut(new PrintWriter(out2, true));
        cli2.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(1, cli2.execute("replay", "verify", "--data", data.toString(), "--app", "probe", "--digests", diverged.toString()),
                out2.toString());
        assertTrue(out2.toString().contains("DIVERGENCE at frame " + alarmSeq), out2.toString());
    }

    /** The alarm's seq must be the first frame at which replica 1 recorded the alarm's expected digest. */
    private static long firstDifferingSeq(Path healthyDigests, JsonObject alarm) {
        byte[] expected = java.util.HexFormat.of().parseHex(alarm.getString("expectedOutputsDigest"));
        byte[] produced = java.util.HexFormat.of().parseHex(alarm.getString("outputsDigest"));
        assertFalse(Arrays.equals(expected, produced));
        for (DigestLog.FrameDigest d : DigestLog.readFile(healthyDigests, 1, Integer.MAX_VALUE)) {
            if (Arrays.equals(d.outputsDigest(), expected)) {
                return d.seq();
            }
        }
        throw new AssertionError("replica 1 never recorded the expected digest");
    }
}
