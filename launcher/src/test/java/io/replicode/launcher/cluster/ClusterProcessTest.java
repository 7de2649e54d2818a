package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Clustered mode with real processes on loopback: three {@code replicode node --cluster} members (a fourth joins
 * later), each in its own JVM, clients writing through their RESP ports with non-idempotent {@code APPEND}s whose
 * every outcome is recorded and checked ({@link AppendHistory}: every acknowledged token exactly once, in order,
 * through every member). The tests run in order on one cluster: an operator restart of kv, kill -9 of the Raft
 * leader under load and its restart, the leader paused 15 s under load, a fourth member joining under load from a
 * snapshot, its removal (the majority is then counted without it), kill -9 and then SIGTERM of all three members
 * and their restart, and finally a member left alone. The partition test is {@code ClusterPartitionTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 400, unit = TimeUnit.SECONDS)
class ClusterProcessTest {
    private static final Duration READY = Duration.ofSeconds(150);

    private Path dir;

    private final List<Member> members = new ArrayList<>();
    private final List<AppendHistory> histories = new ArrayList<>();

    @BeforeAll
    void startThreeMembers(@TempDir Path tmp) throws Exception {
        dir = tmp;
        // Snapshots every 200 frames, so a joining member has a recent one to load.
        Path config = Member.kvConfig(dir, new JsonObject().put("snapshotEveryFrames", 200)
                .put("log", new JsonObject().put("fsync", "always")));
        List<String> addresses = Member.clusterAddresses(4);
        List<String> firstThree = addresses.subList(0, 3);
        for (int i = 0; i < 4; i++) {
            int clusterPort = Integer.parseInt(addresses.get(i).split(":")[1]);
            members.add(new Member(i, clusterPort, Member.freePort(), Member.freePort(), dir.resolve("m" + i), config,
                    i < 3 ? List.copyOf(firstThree) : List.copyOf(addresses)));
        }
        for (int i = 0; i < 3; i++) {
            members.get(i).start();
        }
        for (int i = 0; i < 3; i++) {
            members.get(i).awaitReady(READY);
        }
        for (int w = 0; w < 4; w++) {
            histories.add(new AppendHistory("w" + w));
        }
    }

    @AfterAll
    void stopAll() throws InterruptedException {
        for (Member m : members) {
            if (m.alive()) {
                m.kill();
            }
        }
    }

    /** Writers APPENDing tokens "w:n;" to key "w<w>" through the given members, until stopped or {@code maxOps}. */
    private final class Writers implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> threads = new ArrayList<>();
        /** (issued ns, acknowledged ns) of every acknowledged write. */
        final ConcurrentLinkedQueue<long[]> acks = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

        Writers(List<Member> via, int maxOps) {
            for (int w = 0; w < histories.size(); w++) {
                AppendHistory h = histories.get(w);
                int id = w;
                Thread t = new Thread(() -> write(h, id, via, maxOps), "writer-" + w);
                t.setDaemon(true);
                threads.add(t);
            }
            threads.forEach(Thread::start);
        }

        private void write(AppendHistory h, int id, List<Member> via, int maxOps) {
            h.write(via.stream().map(m -> m.respPort).toList(), id, maxOps, System.nanoTime() + TimeUnit.SECONDS.toNanos(120),
                    20_000, stop::get, (issued, acked) -> acks.add(new long[] {issued, acked}), errors::add);
        }

        /** Milliseconds from {@code killNs} to the first acknowledgement of a write issued after it, or -1. */
        long firstAckAfter(long killNs) {
            long best = Long.MAX_VALUE;
            for (long[] a : acks) {
                if (a[0] > killNs) {
                    best = Math.min(best, a[1]);
                }
            }
            return best == Long.MAX_VALUE ? -1 : (best - killNs) / 1_000_000;
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(60_000);
            }
        }
    }

    private Member sequencerOfKv() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (Member m : members) {
                if (m.alive()) {
                    JsonObject seq = m.kv().getJsonObject("sequencer");
                    if (seq != null && "sequencing".equals(seq.getString("state"))) {
                        return m;
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no member sequences kv");
    }

    private List<Member> live() {
        return members.stream().filter(Member::alive).toList();
    }

    @Test
    @Order(0)
    void replicode_restart_through_one_member_restarts_the_app_on_every_member_at_the_same_frame() throws Exception {
        Member via = members.get(1);
        assertEquals(2, via.put("before", "1").statusCode() / 100);
        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        assertEquals(0, cli.execute("restart", "--app", "kv", "--node", "http://127.0.0.1:" + via.httpPort), said.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (live().stream().anyMatch(m -> restartsOfKv(m) != 1)) {
            assertTrue(System.nanoTime() < deadline, "not every member restarted kv once: " + said);
            Thread.sleep(100);
        }
        Member.replicasAgree(live());
        assertEquals(2, members.get(2).put("after", "2").statusCode() / 100, "the restarted app takes writes");
        for (Member m : live()) {
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

    /** Writes through {@code via} until {@code n} more are acknowledged (bounded); fails with the writers' errors. */
    private static void awaitAcks(Writers writers, int n, int seconds, String what) throws InterruptedException {
        int at = writers.acks.size();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (writers.acks.size() < at + n && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertTrue(writers.acks.size() >= at + n, what + ": " + (writers.acks.size() - at) + " of " + n
                + " writes acknowledged in " + seconds + " s; errors " + List.copyOf(writers.errors).subList(0,
                Math.min(5, writers.errors.size())));
    }

    /** Every member in {@code ms} answers a write on its RESP port within {@code seconds}; returns ms until the last did. */
    private static long allServeWithin(List<Member> ms, int seconds, long fromNs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long last = 0;
        for (Member m : ms) {
            String problem = "";
            boolean served = false;
            while (!served && System.nanoTime() < deadline) {
                try (Jedis j = new Jedis("127.0.0.1", m.respPort, 2_000)) {
                    served = "OK".equals(j.set("probe-" + m.index, Long.toString(System.nanoTime())));
                } catch (RuntimeException e) {
                    problem = e.toString();
                    Thread.sleep(100);
                }
            }
            assertTrue(served, m + " does not serve within " + seconds + " s: " + problem + "\n" + m.tail());
            last = Math.max(last, (System.nanoTime() - fromNs) / 1_000_000);
        }
        return last;
    }

    @Test
    @Order(1)
    void kill_nine_of_the_leader_under_load_loses_and_repeats_no_acknowledged_write() throws Exception {
        Member leader = sequencerOfKv();
        List<Member> others = members.subList(0, 3).stream().filter(m -> m != leader).toList();
        // A client of the member about to die: its gateway is then in kv's history, and its loss must be sequenced.
        int lostGateway = leader.status().getJsonObject("pipeline").getJsonObject("cluster").getInteger("gatewayId");
        try (Jedis doomed = new Jedis("127.0.0.1", leader.respPort, 20_000)) {
            assertEquals("OK", doomed.set("doomed", "x"));
        }
        long killNs;
        long failoverMs;
        try (Writers writers = new Writers(others, 100_000)) {
            awaitAcks(writers, 300, 30, "writes before the kill");
            killNs = System.nanoTime();
            leader.kill();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (writers.firstAckAfter(killNs) < 0 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            failoverMs = writers.firstAckAfter(killNs);
            awaitAcks(writers, 300, 60, "writes after the kill");
        }
        System.out.println("cluster test: kill -9 of the leader " + leader + " -> first acknowledged write issued after it: "
                + failoverMs + " ms");
        assertTrue(failoverMs >= 0, "writes resume after the leader's member is killed:\n" + others.get(0).tail());
        Member successor = sequencerOfKv();
        assertTrue(successor != leader);
        String lostLine = "kv: gateway " + lostGateway + " left the cluster";
        long lostDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(successor.output).contains(lostLine) && System.nanoTime() < lostDeadline) {
            Thread.sleep(100);
        }
        assertTrue(Files.readString(successor.output).contains(lostLine), "the new leader sequences the dead member's gateway"
                + " loss:\n" + successor.tail());
        Member.replicasAgree(live());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, histories);
        }
    }

    @Test
    @Order(2)
    void the_killed_member_restarts_and_catches_up() throws Exception {
        Member dead = members.subList(0, 3).stream().filter(m -> !m.alive()).findFirst().orElseThrow();
        dead.start();
        dead.awaitReady(READY);
        long seq = Member.replicasAgree(live());
        System.out.println("cluster test: " + dead + " restarted and agrees at frame " + seq + " ("
                + dead.kv().getJsonObject("history").getString("joinedFrom") + ")");
        Member.historiesHoldThrough(dead, histories);
    }

    @Test
    @Order(3)
    void the_leader_paused_for_15_s_under_load_then_every_member_serves_within_10_s() throws Exception {
        Member leader = sequencerOfKv();
        List<Member> others = members.subList(0, 3).stream().filter(m -> m != leader).toList();
        long resumedNs;
        try (Writers writers = new Writers(members.subList(0, 3), 100_000)) {
            awaitAcks(writers, 200, 30, "writes before the pause");
            leader.pause(true);
            try {
                Thread.sleep(3_000);
                awaitAcks(writers, 100, 40, "writes through the other members while the leader is paused");
                Thread.sleep(Math.max(0, 15_000 - 3_000));
            } finally {
                leader.pause(false);
            }
            resumedNs = System.nanoTime();
            long servedMs = allServeWithin(members.subList(0, 3), 10, resumedNs);
            System.out.println("cluster test: " + leader + " paused 15 s; every member served again " + servedMs
                    + " ms after SIGCONT");
            awaitAcks(writers, 200, 60, "writes after the pause");
        }
        Member.replicasAgree(live());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, histories);
        }
        assertTrue(others.stream().allMatch(Member::alive));
    }

    @Test
    @Order(4)
    void a_fourth_member_joins_under_load_from_a_snapshot() throws Exception {
        Member fourth = members.get(3);
        try (Writers writers = new Writers(members.subList(0, 3), 100_000)) {
            awaitAcks(writers, 600, 60, "writes before the join");
            long t0 = System.nanoTime();
            fourth.start();
            fourth.awaitReady(READY);
            System.out.println("cluster test: fourth member ready " + (System.nanoTime() - t0) / 1_000_000
                    + " ms after its process started");
            awaitAcks(writers, 200, 60, "writes while the fourth member joins");
        }
        long seq = Member.replicasAgree(live());
        JsonObject history = fourth.kv().getJsonObject("history");
        JsonObject raft = fourth.kv().getJsonObject("raft");
        System.out.println("cluster test: fourth member joined (" + history.getString("joinedFrom") + "; installs "
                + history.getLong("snapshotInstalls") + ", " + history.getString("lastSnapshotInstall") + "), agrees at frame "
                + seq + ", group " + raft.getJsonArray("peers"));
        assertTrue(history.getLong("snapshotInstalls") >= 1, "the new member starts from the leader's snapshot: " + history.encode());
        assertEquals(4, raft.getJsonArray("peers").size(), raft.encode());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, histories);
        }
    }

    @Test
    @Order(5)
    void a_removed_member_no_longer_counts_toward_the_majority() throws Exception {
        Member fourth = members.get(3);
        fourth.kill();
        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        cli.setErr(new PrintWriter(said, true));
        assertEquals(0, cli.execute("remove-member", "--member", fourth.listed(), "--node",
                "http://127.0.0.1:" + members.get(0).httpPort), said.toString());
        assertTrue(said.toString().contains("kv: removed"), said.toString());
        for (Member m : members.subList(0, 3)) {
            assertEquals(3, m.kv().getJsonObject("raft").getJsonArray("peers").size(), m + ": " + m.kv().getJsonObject("raft"));
        }
        // Three voters: one more down leaves two, a majority; with four voters it would not be.
        Member leader = sequencerOfKv();
        Member down = members.subList(0, 3).stream().filter(m -> m != leader).findFirst().orElseThrow();
        down.kill();
        try (Writers writers = new Writers(members.subList(0, 3).stream().filter(Member::alive).toList(), 100_000)) {
            awaitAcks(writers, 100, 60, "writes with 2 of 3 voters up");
        }
        down.start();
        down.awaitReady(READY);
        Member.replicasAgree(live());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, histories);
        }
    }

    @Test
    @Order(6)
    void all_three_killed_under_load_then_started_again_lose_nothing_and_take_new_writes() throws Exception {
        try (Writers writers = new Writers(members.subList(0, 3), 100_000)) {
            awaitAcks(writers, 300, 60, "writes before killing all");
            for (Member m : members.subList(0, 3)) {
                m.kill();
            }
        }
        restartAllAndCheck("kill -9 of all three");
        try (Writers writers = new Writers(members.subList(0, 3), 100_000)) {
            awaitAcks(writers, 200, 60, "writes before stopping all");
        }
        for (Member m : members.subList(0, 3)) {
            m.terminate();
        }
        restartAllAndCheck("SIGTERM of all three");
    }

    private void restartAllAndCheck(String after) throws Exception {
        long t0 = System.nanoTime();
        for (Member m : members.subList(0, 3)) {
            m.start();
        }
        for (Member m : members.subList(0, 3)) {
            m.awaitReady(READY);
        }
        System.out.println("cluster test: after " + after + ", all three ready again in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        try (Writers writers = new Writers(members.subList(0, 3), 100_000)) {
            awaitAcks(writers, 100, 60, "new writes after " + after);
        }
        Member.replicasAgree(live());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, histories);
        }
    }

    @Test
    @Order(7)
    void a_member_left_alone_refuses_clients_and_says_why() throws Exception {
        Member alone = members.get(0);
        for (Member m : members) {
            if (m != alone && m.alive()) {
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
        System.out.println("cluster test: alone, " + alone + " answers " + r.statusCode() + ": " + r.body().strip());
    }
}
