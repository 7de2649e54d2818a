package io.replicode.cluster;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * A real cluster of {@link ClusterBoot} members in this JVM, on loopback ports in 5801..5899 that are free when it
 * starts. Members start one after the other (a member joining while another forms its own cluster would make two).
 */
final class TestCluster implements AutoCloseable {
    static final int FIRST_PORT = 5801;
    static final int LAST_PORT = 5899;
    static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    /** Hazelcast's INFO lines would fill the build output; warnings and errors still show. Held: JUL loggers are weak. */
    private static final java.util.logging.Logger HAZELCAST_LOG = java.util.logging.Logger.getLogger("com.hazelcast");

    static {
        HAZELCAST_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final List<ClusterSettings> settings = new ArrayList<>();
    private final List<ClusterBoot> members = new ArrayList<>();
    private final List<Boolean> crashed = new ArrayList<>();

    private TestCluster() {}

    static TestCluster start(int size) {
        return start(size, s -> s);
    }

    /** Starts {@code size} members; {@code tweak} adjusts each member's settings. */
    static TestCluster start(int size, UnaryOperator<ClusterSettings> tweak) {
        TestCluster cluster = configure(size, tweak);
        try {
            for (int i = 0; i < size; i++) {
                cluster.startNext();
            }
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** A cluster of {@code size} listed members, none started yet ({@link #startNext}). */
    static TestCluster configure(int size, UnaryOperator<ClusterSettings> tweak) {
        List<String> addresses = new ArrayList<>();
        for (int port : freePorts(size)) {
            addresses.add("127.0.0.1:" + port);
        }
        TestCluster cluster = new TestCluster();
        for (String address : addresses) {
            String[] hostPort = address.split(":");
            cluster.settings.add(tweak.apply(ClusterSettings.of(hostPort[0], Integer.parseInt(hostPort[1]), addresses)));
        }
        return cluster;
    }

    /** Starts the next listed member and waits until every running member sees all running members. */
    ClusterBoot startNext() {
        ClusterBoot member = await(ClusterBoot.start(settings.get(members.size())), START_TIMEOUT);
        members.add(member);
        crashed.add(false);
        int expected = (int) crashed.stream().filter(c -> !c).count();
        awaitTrue(() -> running().allMatch(m -> m.clusterSize() == expected), Duration.ofSeconds(20),
                "every running member to see " + expected + " members");
        // Until migrations end, a partition may have fewer backups than configured: a frame acknowledged then
        // lives on fewer members (see docs/clustering.md), so tests start from a safe cluster.
        awaitTrue(() -> member.hazelcast().getPartitionService().isClusterSafe(), Duration.ofSeconds(20),
                "the partitions to be migrated and backed up");
        return member;
    }

    private java.util.stream.Stream<ClusterBoot> running() {
        List<ClusterBoot> out = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            if (!crashed.get(i)) {
                out.add(members.get(i));
            }
        }
        return out.stream();
    }

    ClusterBoot member(int i) {
        return members.get(i);
    }

    HazelcastInstance hz(int i) {
        return members.get(i).hazelcast();
    }

    int size() {
        return members.size();
    }

    List<Long> joinMs() {
        return members.stream().map(ClusterBoot::joinMs).toList();
    }

    /** The member whose Hazelcast is {@code hz}. */
    int indexOf(HazelcastInstance hz) {
        for (int i = 0; i < members.size(); i++) {
            if (members.get(i).hazelcast() == hz) {
                return i;
            }
        }
        throw new IllegalArgumentException("not a member of this test cluster");
    }

    /** Like kill -9 for the cluster: Hazelcast stops at once, without handing its partitions over. */
    void crash(int i) {
        crashed.set(i, true);
        members.get(i).hazelcast().getLifecycleService().terminate();
        closeQuietly(members.get(i));
    }

    boolean crashed(int i) {
        return crashed.get(i);
    }

    @Override
    public void close() {
        for (int i = members.size() - 1; i >= 0; i--) {
            if (!crashed.get(i)) {
                crashed.set(i, true);
                closeQuietly(members.get(i));
            }
        }
    }

    private static void closeQuietly(ClusterBoot member) {
        try {
            member.close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            // a terminated member's Vert.x may fail to leave; the test only needs it gone
        }
    }

    static <T> T await(Future<T> future, Duration timeout) {
        return await(future.toCompletionStage().toCompletableFuture(), timeout);
    }

    static <T> T await(CompletableFuture<T> future, Duration timeout) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new AssertionError(cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no result within " + timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Waits for {@code condition} ({@link io.replicode.testing.Poll#until}); fails naming {@code what} after {@code timeout}. */
    static void awaitTrue(BooleanSupplier condition, Duration timeout, String what) {
        try {
            io.replicode.testing.Poll.until(what, timeout, condition::getAsBoolean);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Ports free now in 5801..5899, scanning from a random start so parallel builds rarely pick the same ones. */
    private static List<Integer> freePorts(int count) {
        List<Integer> ports = new ArrayList<>();
        int range = LAST_PORT - FIRST_PORT + 1;
        int offset = ThreadLocalRandom.current().nextInt(range);
        for (int i = 0; i < range && ports.size() < count; i++) {
            int port = FIRST_PORT + (offset + i) % range;
            try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                ports.add(probe.getLocalPort());
            } catch (IOException e) {
                // taken
            }
        }
        if (ports.size() < count) {
            throw new IllegalStateException("fewer than " + count + " free ports in " + FIRST_PORT + ".." + LAST_PORT);
        }
        return ports;
    }
}
