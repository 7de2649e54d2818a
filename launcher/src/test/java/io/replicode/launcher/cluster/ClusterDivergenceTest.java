package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import io.replicode.launcher.embedded.DivergingMember;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A member whose replica diverged is found and rebuilt, across processes: three members, the third started with
 * an injected fault ({@link DivergingMember}: its replica's first machine has less memory, so large values make
 * its state differ). Writers
 * APPEND through all three. Every member names the third at a frame, the third rebuilds its replica from a healthy
 * member's snapshot by itself, and afterwards all replicas reach the same frame with the same state digest, and
 * every acknowledged write reads back, once and in order, through every member.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ClusterDivergenceTest {
    private final List<Member> members = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (Member m : members) {
            if (m.alive()) {
                m.kill();
            }
        }
    }

    @Test
    void a_member_whose_replica_diverged_is_named_and_rebuilds_it_from_a_healthy_members_snapshot() throws Exception {
        // Data and outputs outlive the test (target/cluster-divergence-test), for a look after a failure.
        Path dir = Path.of("target", "cluster-divergence-test").toAbsolutePath();
        if (Files.exists(dir)) {
            try (var all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
        // Snapshots every 50 frames, so a healthy member has one to give when the first digests (every 100 frames) differ.
        Path config = Member.kvConfig(dir, new JsonObject().put("snapshotEveryFrames", 50));
        List<String> addresses = Member.clusterAddresses(3);
        for (int i = 0; i < 3; i++) {
            int clusterPort = Integer.parseInt(addresses.get(i).split(":")[1]);
            members.add(new Member(i, clusterPort, Member.freePort(), Member.freePort(), dir.resolve("m" + i), config, addresses));
        }
        Member diverging = members.get(2);
        diverging.mainClass = DivergingMember.class.getName();
        for (Member m : members) {
            m.start();
        }
        for (Member m : members) {
            m.awaitReady(Duration.ofSeconds(150));
        }

        List<AppendHistory> histories = List.of(new AppendHistory("d0"), new AppendHistory("d1"), new AppendHistory("d2"));
        List<Integer> ports = members.stream().map(m -> m.respPort).toList();
        List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < histories.size(); w++) {
            AppendHistory h = histories.get(w);
            int first = w;
            Thread t = new Thread(() -> h.write(ports, first, 400, System.nanoTime() + TimeUnit.SECONDS.toNanos(120), 20_000,
                    () -> false, (issued, acked) -> { }, errors::add), "writer-" + w);
            t.setDaemon(true);
            t.start();
            writers.add(t);
        }

        // Once the writers have made some frames (and snapshots), values large enough to need more memory than the
        // diverging member's replica may have: from that frame on, its state differs from the others'.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (histories.stream().mapToInt(AppendHistory::ackedCount).sum() < 300 && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(2, members.get(0).put("big" + i, "x".repeat(100_000)).statusCode() / 100);
        }

        String peer = "127.0.0.1_" + diverging.clusterPort;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        JsonObject divergence = new JsonObject().put("rebuilds", 0L);
        while (divergence.getLong("rebuilds") < 1 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            JsonObject status = diverging.status();
            if (status.getJsonObject("pipeline") != null) {
                divergence = status.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv").getJsonObject("divergence");
            }
        }
        assertTrue(divergence.getLong("rebuilds") >= 1, "the diverged member rebuilt its replica: " + divergence.encode()
                + "\n" + diverging.tail());
        assertTrue(divergence.getString("lastRebuild").contains("'s snapshot at frame "), divergence.encode());
        for (Thread t : writers) {
            t.join(180_000);
        }

        long seq = Member.replicasAgree(members);
        for (Member m : members) {
            Member.historiesHoldThrough(m, histories);
            String out = Files.readString(m.output);
            assertTrue(out.contains("DIVERGENCE at frame ") && out.contains("member " + peer + " has state digest"),
                    m + " named the diverged member:\n" + m.tail());
        }
        try (var evidence = Files.list(diverging.data.resolve("kv").resolve("replica-1"))) {
            assertTrue(evidence.anyMatch(f -> f.getFileName().toString().startsWith("digests.diverged-at-")),
                    "the diverged replica's digest log is kept");
        }
        assertEquals(3 * 400, histories.stream().mapToInt(AppendHistory::ackedCount).sum() + errors.size(),
                "every write was acknowledged or failed: " + errors);
        System.out.println("divergence test: rebuilt (" + divergence.getString("lastRebuild") + "); all agree at frame " + seq
                + "; " + errors.size() + " writes failed during the rebuild");
    }
}
