package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Clustered mode with real processes on loopback ({@link TestCluster}): three {@code replicode node --cluster} members
 * (a fourth joins in one case), each in its own JVM, clients writing through their RESP ports with non-idempotent
 * {@code APPEND}s whose every outcome is recorded and checked ({@link AppendHistory}: every acknowledged token exactly
 * once, in order, through every member). The cases: an operator restart of kv, kill -9 of the Raft leader under load
 * and its restart, one member's replicas scaled from 1 to 3 and back under load (asked through another member), the leader paused 15 s under load, a fourth member joining under load from a snapshot and its
 * removal, kill -9 and then SIGTERM of all three members and their restart, and finally a member left alone. They
 * share one cluster (starting three JVMs takes most of a minute) but not their fate: each case starts from a healed
 * cluster ({@link TestCluster#heal}) and checks its own writers' keys, so one failure does not fail the cases after
 * it. The partition case is {@code ClusterPartitionTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 400, unit = TimeUnit.SECONDS)
class ClusterProcessTest {
    private TestCluster cluster;

    @BeforeAll
    void startThreeMembers(@TempDir Path dir) throws Exception {
        // Snapshots every 200 frames, so a joining member has a recent one to load.
        cluster = TestCluster.start(dir, 3, 1, new JsonObject().put("snapshotEveryFrames", 200)
                .put("log", new JsonObject().put("fsync", "always")));
    }

    @BeforeEach
    void healed() throws Exception {
        cluster.heal();
    }

    @AfterAll
    void stopAll() throws InterruptedException {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(0)
    void replicode_restart_through_one_member_restarts_the_app_on_every_member_at_the_same_frame() throws Exception {
        Member via = cluster.member(1);
        long before = restartsOfKv(via);
        assertEquals(2, via.put("before", "1").statusCode() / 100);
        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        assertEquals(0, cli.execute("restart", "--app", "kv", "--node", "http://127.0.0.1:" + via.httpPort), said.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (cluster.voters().stream().anyMatch(m -> restartsOfKv(m) != before + 1)) {
            assertTrue(System.nanoTime() < deadline, "not every member restarted kv once: " + said);
            Thread.sleep(100);
        }
        Member.replicasAgree(cluster.live());
        assertEquals(2, cluster.member(2).put("after", "2").statusCode() / 100, "the restarted app takes writes");
        for (Member m : cluster.voters()) {
            assertEquals("running", m.status().getJsonArray("apps").getJsonObject(0).getString("state"), m.toString());
        }
    }

    /** Restarts of kv's replica on {@code m}, or -1 while it does not answer. */
    private static long restartsOfKv(Member m) {
        try {
            JsonObject r = m.kv().getJsonArray("replicas").getJsonObject(0);
            return r.getLong("restarts", -1L);
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    @Order(1)
    void kill_nine_of_the_leader_under_load_loses_and_repeats_no_acknowledged_write_and_it_catches_up_on_restart()
            throws Exception {
        Member leader = cluster.leader();
        List<Member> others = cluster.votersBut(leader);
        // A client of the member about to die: its gateway is then in kv's history, and its loss must be sequenced.
        int lostGateway = leader.status().getJsonObject("pipeline").getJsonObject("cluster").getInteger("gatewayId");
        try (Jedis doomed = new Jedis("127.0.0.1", leader.respPort, 20_000)) {
            assertEquals("OK", doomed.set("doomed", "x"));
        }
        long failoverMs;
        TestCluster.Writers writers = cluster.writers("kill", others);
        try (writers) {
            writers.awaitAcks(300, 30, "writes before the kill");
            long killNs = System.nanoTime();
            leader.kill();
            failoverMs = writers.awaitFirstAckAfter(killNs, 60);
            writers.awaitAcks(300, 60, "writes after the kill");
        }
        System.out.println("cluster test: kill -9 of the leader " + leader + " -> first acknowledged write issued after it: "
                + failoverMs + " ms");
        assertTrue(failoverMs >= 0, "writes resume after the leader's member is killed:\n" + others.get(0).tail());
        Member successor = cluster.leader();
        assertTrue(successor != leader);
        String lostLine = "kv: gateway " + lostGateway + " left the cluster";
        long lostDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(successor.output).contains(lostLine) && System.nanoTime() < lostDeadline) {
            Thread.sleep(100);
        }
        assertTrue(Files.readString(successor.output).contains(lostLine), "the new leader sequences the dead member's gateway"
                + " loss:\n" + successor.tail());
        cluster.assertNothingLost(writers);

        leader.start();
        leader.awaitReady(TestCluster.READY);
        long seq = cluster.assertNothingLost(writers);
        System.out.println("cluster test: " + leader + " restarted and agrees at frame " + seq + " ("
                + leader.kv().getJsonObject("history").getString("joinedFrom") + ")");
    }

    @Test
    @Order(2)
    void replicas_scaled_on_another_member_under_load_agree_with_the_old_and_lose_no_acknowledged_write() throws Exception {
        Member asked = cluster.member(0);
        Member scaled = cluster.member(1);
        TestCluster.Writers writers = cluster.writers("scale", cluster.voters());
        String up;
        try (writers) {
            writers.awaitAcks(200, 60, "writes before scaling");
            up = cli("scale", "--app", "kv", "--replicas", "3", "--member", scaled.listed(), "--node",
                    "http://127.0.0.1:" + asked.httpPort);
            System.out.println("cluster test: scale up under load: " + up.strip().replace('\n', ' '));
            writers.awaitAcks(200, 60, "writes after scaling up");
        }
        assertTrue(up.contains("replica 2 added from") && up.contains("replica 3 added from")
                && up.contains("runs 3 replica(s) on member " + scaled.listed()), up);
        // The three replicas of that member: one frame, one state digest (the first is the one it started with).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "";
        while (true) {
            var rs = scaled.kv().getJsonArray("replicas");
            java.util.Set<String> points = new java.util.HashSet<>();
            for (int i = 0; i < rs.size(); i++) {
                points.add(rs.getJsonObject(i).getLong("digestSeq") + "/" + rs.getJsonObject(i).getString("digest"));
            }
            seen = rs.encode();
            if (rs.size() == 3 && points.size() == 1) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "the replicas of " + scaled + " do not agree: " + seen);
            Thread.sleep(100);
        }
        assertEquals(0, scaled.kv().getJsonObject("localDivergence").getLong("divergences"), scaled.kv().encode());
        String down = cli("scale", "--app", "kv", "--replicas", "1", "--member", scaled.listed(), "--node",
                "http://127.0.0.1:" + asked.httpPort);
        assertTrue(down.contains("replica 3 removed") && down.contains("replica 2 removed"), down);
        assertEquals(1, scaled.kv().getJsonArray("replicas").size(), scaled.kv().encode());
        cluster.assertNothingLost(writers);
    }

    /** Runs the command line in this JVM; asserts exit 0 and returns what it printed. */
    private static String cli(String... args) {
        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        cli.setErr(new PrintWriter(said, true));
        assertEquals(0, cli.execute(args), said.toString());
        return said.toString();
    }

    @Test
    @Order(3)
    void the_leader_paused_for_15_s_under_load_then_every_member_serves_within_10_s() throws Exception {
        Member leader = cluster.leader();
        TestCluster.Writers writers = cluster.writers("pause", cluster.voters());
        try (writers) {
            writers.awaitAcks(200, 30, "writes before the pause");
            cluster.pauseFor(leader, Duration.ofSeconds(15), () -> {
                Thread.sleep(3_000);
                writers.awaitAcks(100, 40, "writes through the other members while the leader is paused");
            });
            long resumedNs = System.nanoTime();
            long servedMs = TestCluster.allServeWithin(cluster.voters(), 10, resumedNs);
            System.out.println("cluster test: " + leader + " paused 15 s; every member served again " + servedMs
                    + " ms after SIGCONT");
            writers.awaitAcks(200, 60, "writes after the pause");
        }
        cluster.assertNothingLost(writers);
        assertTrue(cluster.voters().stream().allMatch(Member::alive));
    }

    @Test
    @Order(4)
    void a_fourth_member_joins_under_load_from_a_snapshot_and_once_removed_no_longer_counts_toward_the_majority()
            throws Exception {
        Member fourth = cluster.member(3);
        TestCluster.Writers writers = cluster.writers("join", cluster.voters());
        try (writers) {
            writers.awaitAcks(600, 60, "writes before the join");
            long t0 = System.nanoTime();
            fourth.start();
            fourth.awaitReady(TestCluster.READY);
            System.out.println("cluster test: fourth member ready " + (System.nanoTime() - t0) / 1_000_000
                    + " ms after its process started");
            writers.awaitAcks(200, 60, "writes while the fourth member joins");
        }
        long seq = cluster.assertNothingLost(writers);
        JsonObject history = fourth.kv().getJsonObject("history");
        JsonObject raft = fourth.kv().getJsonObject("raft");
        System.out.println("cluster test: fourth member joined (" + history.getString("joinedFrom") + "; installs "
                + history.getLong("snapshotInstalls") + ", " + history.getString("lastSnapshotInstall") + "), agrees at frame "
                + seq + ", group " + raft.getJsonArray("peers"));
        assertTrue(history.getLong("snapshotInstalls") >= 1, "the new member starts from the leader's snapshot: " + history.encode());
        assertEquals(4, raft.getJsonArray("peers").size(), raft.encode());

        fourth.kill();
        assertTrue(cluster.removeMember(fourth).contains("kv: removed"));
        for (Member m : cluster.voters()) {
            assertEquals(3, m.kv().getJsonObject("raft").getJsonArray("peers").size(), m + ": " + m.kv().getJsonObject("raft"));
        }
        // Three voters: one more down leaves two, a majority; with four voters it would not be.
        Member down = cluster.votersBut(cluster.leader()).get(0);
        down.kill();
        TestCluster.Writers twoOfThree = cluster.writers("majority", cluster.live());
        try (twoOfThree) {
            twoOfThree.awaitAcks(100, 60, "writes with 2 of 3 voters up");
        }
        down.start();
        down.awaitReady(TestCluster.READY);
        cluster.assertNothingLost(twoOfThree);
        cluster.assertNothingLost(writers);
    }

    @Test
    @Order(5)
    void an_upgrade_under_load_switches_every_member_and_loses_no_acknowledged_write() throws Exception {
        // The kv module with a custom section appended: another hash, the same behaviour.
        byte[] wasm = Files.readAllBytes(io.replicode.node.TestGuests.module("kv_server"));
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(wasm);
        b.write(new byte[] {0, 4, 3, 'u', 'p', '2'});
        Path v2 = Files.createTempFile("kv-v2", ".wasm");
        Files.write(v2, b.toByteArray());
        String sha = io.replicode.node.ModuleStore.sha256(b.toByteArray());
        TestCluster.Writers writers = cluster.writers("upgrade", cluster.voters());
        try (writers) {
            writers.awaitAcks(300, 60, "writes before the upgrade");
            String said = cli("upgrade", "--app", "kv", "--module", v2.toString(), "--node",
                    "http://127.0.0.1:" + cluster.member(2).httpPort);
            System.out.println("cluster test: upgrade under load: " + said.strip().replace('\n', ' '));
            writers.awaitAcks(300, 60, "writes after the upgrade");
        } finally {
            Files.deleteIfExists(v2);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (Member m : cluster.voters()) {
            while (!m.kv().getJsonArray("replicas").getJsonObject(0).getString("module", "").equals(sha)) {
                assertTrue(System.nanoTime() < deadline, m + " does not run the new module: " + m.kv().encode());
                Thread.sleep(200);
            }
        }
        // Only member 2 was sent the module: the others fetched it from the cluster's map, by hash.
        for (Member m : List.of(cluster.member(0), cluster.member(1))) {
            assertTrue(Files.readString(m.output).contains("module " + sha.substring(0, 12) + " fetched from the cluster"),
                    m + " did not say it fetched the module: " + m.tail());
        }
        cluster.assertNothingLost(writers);
    }

    @Test
    @Order(6)
    void all_three_killed_under_load_then_started_again_lose_nothing_and_take_new_writes() throws Exception {
        TestCluster.Writers killed = cluster.writers("killall", cluster.voters());
        try (killed) {
            killed.awaitAcks(300, 60, "writes before killing all");
            for (Member m : cluster.voters()) {
                m.kill();
            }
        }
        restartAllAndCheck("kill -9 of all three", "afterkill", killed);
        TestCluster.Writers stopped = cluster.writers("stopall", cluster.voters());
        try (stopped) {
            stopped.awaitAcks(200, 60, "writes before stopping all");
        }
        for (Member m : cluster.voters()) {
            m.terminate();
        }
        restartAllAndCheck("SIGTERM of all three", "afterstop", stopped);
        cluster.assertNothingLost(killed);
    }

    private void restartAllAndCheck(String after, String name, TestCluster.Writers before) throws Exception {
        long t0 = System.nanoTime();
        for (Member m : cluster.voters()) {
            m.start();
        }
        // Clients that connect the moment a member listens, while the cluster is still electing its leader, are answered
        // (or refused at once), never left waiting: their first batches once reached a leader that did not listen yet,
        // and were then taken as duplicates of a later one.
        List<java.util.concurrent.CompletableFuture<String>> early = new java.util.ArrayList<>();
        for (Member m : cluster.voters()) {
            early.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> earlyPings(m)));
        }
        for (Member m : cluster.voters()) {
            m.awaitReady(TestCluster.READY);
        }
        System.out.println("cluster test: after " + after + ", all three ready again in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        for (var e : early) {
            String hung = e.get(120, TimeUnit.SECONDS);
            assertEquals("", hung, "a client that connected first was left waiting");
        }
        TestCluster.Writers writers = cluster.writers(name, cluster.voters());
        try (writers) {
            writers.awaitAcks(100, 60, "new writes after " + after);
        }
        cluster.assertNothingLost(before);
        cluster.assertNothingLost(writers);
    }

    /**
     * Waits until {@code m} takes connections (at most 120 s), then PINGs on 5 new connections, 100 ms apart, each given
     * 15 s: returns "" when every one was answered or refused at once, else which one hung.
     */
    private static String earlyPings(Member m) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int answered = 0;
        while (answered < 5 && System.nanoTime() < deadline) {
            long start = System.nanoTime();
            try (redis.clients.jedis.Jedis jedis = new redis.clients.jedis.Jedis("127.0.0.1", m.respPort, 15_000)) {
                jedis.connect();
                start = System.nanoTime();
                if ("PONG".equals(jedis.ping())) {
                    answered++;
                }
            } catch (RuntimeException e) {
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                if (tookMs >= 10_000) {
                    return m + ": a PING on a connection made at start had no answer in " + tookMs + " ms (" + e + ")";
                }
            }
            try {
                Thread.sleep(answered == 0 ? 50 : 100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
        return answered == 5 ? "" : m + ": only " + answered + " of 5 early PINGs answered within 120 s";
    }

    @Test
    @Order(7)
    void a_member_left_alone_refuses_clients_is_not_ready_and_says_why() throws Exception {
        Member alone = cluster.member(0);
        for (Member m : cluster.live()) {
            if (m != alone) {
                m.kill();
            }
        }
        // A request sent before the member noticed it is alone waits for a sequencer and times out; once it knows,
        // the gateway refuses at once.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        HttpResponse<String> r = null;
        while (System.nanoTime() < deadline) {
            try {
                r = alone.put("refused", "x");
                if (r.statusCode() == 503) {
                    break;
                }
            } catch (java.net.http.HttpTimeoutException e) {
                // asked too early
            }
            Thread.sleep(200);
        }
        assertTrue(r != null && r.statusCode() == 503, r == null ? "no answer" : r.statusCode() + " " + r.body());
        assertTrue(r.body().contains("cut off from the majority"), r.body());
        JsonObject kv = alone.kv();
        long logged = kv.getJsonObject("history").getLong("logLastSeq");
        JsonObject seq = kv.getJsonObject("sequencer");
        assertTrue(!"sequencing".equals(seq.getString("state")), seq.encode());
        Thread.sleep(1_000);
        assertEquals(logged, alone.kv().getJsonObject("history").getLong("logLastSeq"), "nothing is committed alone");
        // Alive, but not ready: a load balancer stops sending it clients, and is told why.
        HttpResponse<String> health = alone.get("/health");
        assertEquals(200, health.statusCode(), health.body());
        HttpResponse<String> ready = alone.get("/ready");
        assertEquals(503, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("NOT_READY") && ready.body().contains("cut off from the majority"), ready.body());
        System.out.println("cluster test: alone, " + alone + " answers " + r.statusCode() + ": " + r.body().strip());
    }
}
