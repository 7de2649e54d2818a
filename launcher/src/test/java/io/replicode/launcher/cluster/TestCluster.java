package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A cluster of kv members, each a {@code replicode node --cluster} process on loopback ({@link Member}), for tests that
 * kill, pause and restart them (after Aeron's {@code TestCluster}): a kill-and-restart case reads
 *
 * <pre>
 * try (TestCluster.Writers w = cluster.writers("t1", cluster.voters())) {
 *     w.awaitAcks(300, 30, "before");
 *     cluster.leader().kill();
 *     w.awaitAcks(300, 60, "after");
 * }
 * cluster.heal();
 * cluster.assertNothingLost(w);
 * </pre>
 *
 * The first {@code voters} members form the cluster at start; any further ones are spares a test may start to join.
 * {@link #heal} brings the cluster back to its starting shape (voters running and serving, spares stopped and out of
 * the group), so a test that fails leaves nothing behind for the next one.
 */
final class TestCluster implements AutoCloseable {
    static final Duration READY = Duration.ofSeconds(150);

    private final List<Member> members = new ArrayList<>();
    private final int voters;
    private final java.util.Set<Member> paused = new java.util.HashSet<>();

    private TestCluster(int voters) {
        this.voters = voters;
    }

    /**
     * Starts {@code voters} members in {@code dir} with the kv app configured by {@code settings} ({@link Member#kvConfig})
     * and waits until each is ready; {@code spares} more are prepared (listing every member) but not started.
     */
    static TestCluster start(Path dir, int voters, int spares, JsonObject settings) throws Exception {
        return start(dir, voters, spares, settings, m -> { });
    }

    /** As {@link #start(Path, int, int, JsonObject)}, with {@code prepare} run on each member before it first starts. */
    static TestCluster start(Path dir, int voters, int spares, JsonObject settings, Consumer<Member> prepare) throws Exception {
        TestCluster cluster = new TestCluster(voters);
        try {
            Path config = Member.kvConfig(dir, settings);
            List<String> addresses = Member.clusterAddresses(voters + spares);
            for (int i = 0; i < voters + spares; i++) {
                int clusterPort = Integer.parseInt(addresses.get(i).split(":")[1]);
                Member m = new Member(i, clusterPort, Member.freePort(), Member.freePort(), dir.resolve("m" + i), config,
                        List.copyOf(i < voters ? addresses.subList(0, voters) : addresses));
                prepare.accept(m);
                cluster.members.add(m);
            }
            for (Member m : cluster.voters()) {
                m.start();
            }
            for (Member m : cluster.voters()) {
                m.awaitReady(READY);
            }
            return cluster;
        } catch (Exception | AssertionError e) {
            cluster.close();
            throw e;
        }
    }

    Member member(int index) {
        return members.get(index);
    }

    /** The members the cluster started with. */
    List<Member> voters() {
        return members.subList(0, voters);
    }

    /** Members whose process runs (paused ones included). */
    List<Member> live() {
        return members.stream().filter(Member::alive).toList();
    }

    /** The voters other than {@code m}. */
    List<Member> votersBut(Member m) {
        return voters().stream().filter(v -> v != m).toList();
    }

    /** The member whose sequencer of kv is sequencing (the Raft leader's); waits up to 60 s for one. */
    Member leader() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (Member m : live()) {
                if (paused.contains(m)) {
                    continue;
                }
                try {
                    JsonObject seq = m.kv().getJsonObject("sequencer");
                    if (seq != null && "sequencing".equals(seq.getString("state"))) {
                        return m;
                    }
                } catch (java.io.IOException e) {
                    // starting or stopping: ask the next one
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no member sequences kv");
    }

    /** kill -STOP of {@code m}, and kill -CONT after {@code d} (also on failure); returns when it resumed. */
    void pauseFor(Member m, Duration d, ThrowingRunnable meanwhile) throws Exception {
        m.pause(true);
        paused.add(m);
        long until = System.nanoTime() + d.toNanos();
        try {
            meanwhile.run();
            long left = until - System.nanoTime();
            if (left > 0) {
                TimeUnit.NANOSECONDS.sleep(left);
            }
        } finally {
            m.pause(false);
            paused.remove(m);
        }
    }

    /** What a test does while a member is paused. */
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /**
     * Back to the starting shape: paused members resumed, stopped voters started again, spares stopped and removed from
     * kv's Raft group; then every voter is ready and serves a write. Tests call it first, so one failure does not run
     * into the next test.
     */
    void heal() throws Exception {
        for (Member m : List.copyOf(paused)) {
            m.pause(false);
            paused.remove(m);
        }
        for (Member spare : members.subList(voters, members.size())) {
            if (spare.alive()) {
                spare.kill();
            }
        }
        List<Member> started = new ArrayList<>();
        for (Member m : voters()) {
            if (!m.alive()) {
                m.start();
                started.add(m);
            }
        }
        for (Member m : started) {
            m.awaitReady(READY);
        }
        for (Member spare : members.subList(voters, members.size())) {
            if (inGroup(spare)) {
                removeMember(spare);
            }
        }
        allServeWithin(voters(), 60, System.nanoTime());
    }

    /** Whether {@code m} is a peer of kv's Raft group, as the first live voter sees it. */
    private boolean inGroup(Member m) throws Exception {
        JsonArray peers = voters().get(0).kv().getJsonObject("raft").getJsonArray("peers");
        String id = "127.0.0.1_" + m.clusterPort;
        return peers.stream().anyMatch(p -> String.valueOf(p).contains(id));
    }

    /** {@code replicode remove-member} of {@code m} through the first voter; returns what it printed. */
    String removeMember(Member m) {
        StringWriter said = new StringWriter();
        var cli = io.replicode.launcher.ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(said, true));
        cli.setErr(new PrintWriter(said, true));
        int exit = cli.execute("remove-member", "--member", m.listed(), "--node", "http://127.0.0.1:" + voters().get(0).httpPort);
        org.junit.jupiter.api.Assertions.assertEquals(0, exit, said.toString());
        return said.toString();
    }

    /**
     * Every member in {@code ms} answers a write (a SET on its RESP port) within {@code seconds}; returns the ms from
     * {@code fromNs} until the last one did.
     */
    static long allServeWithin(List<Member> ms, int seconds, long fromNs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long last = 0;
        for (Member m : ms) {
            String problem = "";
            boolean served = false;
            while (!served && System.nanoTime() < deadline) {
                try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", m.respPort, 2_000)) {
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

    /** Writers of their own keys ({@code <name>w0}, ...) through {@code via}, started now. */
    Writers writers(String name, List<Member> via) {
        return new Writers(name, via, 4, 100_000);
    }

    /**
     * Every live member's replicas agree (same frame, same state digest) and every write {@code w} saw acknowledged reads
     * back exactly once and in order through every live member; returns the frame they agree at.
     */
    long assertNothingLost(Writers w) throws Exception {
        long seq = Member.replicasAgree(live());
        for (Member m : live()) {
            Member.historiesHoldThrough(m, w.histories);
        }
        return seq;
    }

    /** kill -9 of every member still running. */
    @Override
    public void close() throws InterruptedException {
        for (Member m : members) {
            if (m.alive()) {
                if (paused.remove(m)) {
                    try {
                        m.pause(false);
                    } catch (java.io.IOException e) {
                        // killed below anyway
                    }
                }
                m.kill();
            }
        }
    }

    /**
     * Writer threads, each APPENDing tokens to its own key ({@link AppendHistory}) through the given members (the next
     * one after an error), until closed, {@code maxOps} writes each, or 120 s.
     */
    static final class Writers implements AutoCloseable {
        final List<AppendHistory> histories = new ArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        /** (issued ns, acknowledged ns) of every acknowledged write. */
        private final ConcurrentLinkedQueue<long[]> acks = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

        Writers(String name, List<Member> via, int count, int maxOps) {
            List<Integer> ports = via.stream().map(m -> m.respPort).toList();
            for (int w = 0; w < count; w++) {
                AppendHistory h = new AppendHistory(name + "w" + w);
                histories.add(h);
                int first = w;
                Thread t = new Thread(() -> h.write(ports, first, maxOps, System.nanoTime() + TimeUnit.SECONDS.toNanos(120),
                        20_000, stop::get, (issued, acked) -> acks.add(new long[] {issued, acked}), errors::add),
                        name + "-writer-" + w);
                t.setDaemon(true);
                threads.add(t);
            }
            threads.forEach(Thread::start);
        }

        /** Waits until {@code n} more writes are acknowledged, at most {@code seconds}; fails with the writers' errors. */
        void awaitAcks(int n, int seconds, String what) throws InterruptedException {
            int at = acks.size();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (acks.size() < at + n && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            List<String> errs = List.copyOf(errors);
            assertTrue(acks.size() >= at + n, what + ": " + (acks.size() - at) + " of " + n + " writes acknowledged in "
                    + seconds + " s; errors " + errs.subList(0, Math.min(5, errs.size())));
        }

        /** Milliseconds from {@code fromNs} to the first acknowledgement of a write issued after it, or -1. */
        long firstAckAfter(long fromNs) {
            long best = Long.MAX_VALUE;
            for (long[] a : acks) {
                if (a[0] > fromNs) {
                    best = Math.min(best, a[1]);
                }
            }
            return best == Long.MAX_VALUE ? -1 : (best - fromNs) / 1_000_000;
        }

        /** Waits (bounded) for a write issued after {@code fromNs} to be acknowledged; returns {@link #firstAckAfter}. */
        long awaitFirstAckAfter(long fromNs, int seconds) throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (firstAckAfter(fromNs) < 0 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            return firstAckAfter(fromNs);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(60_000);
            }
        }
    }
}
