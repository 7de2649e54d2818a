package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.replicode.nat.Addresses;
import io.replicode.testing.Poll;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A member learns who leads an app's group from its own Raft server when it runs the group, and by asking the members
 * that do when it does not; the route it gives names that member's own addresses.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaderDirectoryTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void stop() {
        vertx.close().await();
    }

    @Test
    void a_member_without_the_group_asks_one_that_runs_it() throws Exception {
        AtomicReference<String> raftSays = new AtomicReference<>(null);
        LeaderDirectory runsGroup = new LeaderDirectory(vertx, List.of("kv"), app -> raftSays.get(), true);
        LeaderDirectory gatewayOnly = new LeaderDirectory(vertx, List.of("kv"), app -> null, false);
        runsGroup.start();
        gatewayOnly.start();

        Thread.sleep(2 * LeaderDirectory.REFRESH_MS);
        assertNull(gatewayOnly.leaderOf("kv"), "no member knows a leader yet");
        assertNull(gatewayOnly.route().ingress("kv"), "no route while no leader is known");

        raftSays.set("m2");
        Poll.until("the asking member learns m2", WAIT, () -> "m2".equals(gatewayOnly.leaderOf("kv")));
        assertEquals(Addresses.ingress("kv", "m2"), gatewayOnly.route().ingress("kv"));
        assertEquals(Addresses.control("kv", "m2"), gatewayOnly.route().control("kv"));

        raftSays.set("m3");
        Poll.until("a new leader is learned too", WAIT, () -> "m3".equals(gatewayOnly.leaderOf("kv")));
    }

    @Test
    void raft_reports_are_taken_at_once_and_a_leader_stays_named_until_another_is_known() {
        LeaderDirectory d = new LeaderDirectory(vertx, List.of("kv"), app -> null, true);
        d.leaderChanged("kv", "m1");
        assertEquals("m1", d.leaderOf("kv"));
        d.leaderChanged("kv", null);
        assertEquals("m1", d.leaderOf("kv"), "an election in progress does not forget the last leader");
        d.leaderChanged("kv", "m3");
        assertEquals("m3", d.leaderOf("kv"));
    }
}
