package io.replicode.cluster;

import static io.replicode.cluster.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replay.Frame;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** With three members listed, appending needs two: a member alone refuses, and says why. */
class SplitBrainProtectionTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_member_left_alone_refuses_to_append_but_still_serves_reads() {
        String app = "kv";
        try (TestCluster cluster = TestCluster.start(3)) {
            assertEquals(2, cluster.member(0).settings().minimumClusterSize());
            RingbufferFrameLog lone = new RingbufferFrameLog(cluster.hz(0), app);
            await(lone.recover(RingCursor.GENESIS), WAIT);
            FrameMaker maker = new FrameMaker(app, 1);
            Frame f1 = maker.next("SET a 1");
            await(lone.append(f1), WAIT);

            cluster.crash(1);
            cluster.crash(2);
            TestCluster.awaitTrue(() -> cluster.member(0).clusterSize() == 1, WAIT, "member 1 to see itself alone");

            RingLogException refused = assertThrows(RingLogException.class, () -> await(lone.append(maker.next("SET a 2")), WAIT));
            assertEquals(RingLogException.Reason.MINORITY, refused.reason());
            assertTrue(refused.getMessage().contains("sees 1 member(s), below the minimum cluster size"), refused.getMessage());
            // Reads are not protected: what was acknowledged before stays readable.
            assertEquals(List.of(f1), RingbufferFrameLogTest.readAll(new RingbufferFrameLog(cluster.hz(0), app), RingCursor.GENESIS));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_member_started_alone_refuses_until_a_majority_has_joined() {
        String app = "kv";
        try (TestCluster cluster = TestCluster.configure(3, s -> s)) {
            ClusterBoot first = cluster.startNext();
            RingbufferFrameLog log = new RingbufferFrameLog(first.hazelcast(), app);
            await(log.recover(RingCursor.GENESIS), WAIT);
            FrameMaker maker = new FrameMaker(app, 1);
            assertEquals(RingLogException.Reason.MINORITY,
                    assertThrows(RingLogException.class, () -> await(log.append(maker.next("SET a 1")), WAIT)).reason());

            cluster.startNext();
            // The refused frame was never stored: recover finds an empty history, and frame 1 goes in.
            RingbufferFrameLog again = new RingbufferFrameLog(first.hazelcast(), app);
            assertEquals(RingCursor.GENESIS, await(again.recover(log.cursor()), WAIT));
            assertEquals(0L, await(again.append(new FrameMaker(app, 1).next("SET a 1")), WAIT));
        }
    }
}
