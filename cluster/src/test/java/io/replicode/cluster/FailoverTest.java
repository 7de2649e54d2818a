package io.replicode.cluster;

import static io.replicode.cluster.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.cluster.Member;
import io.replicode.replay.Frame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class FailoverTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void acknowledged_frames_survive_the_owner_and_ownership_moves_to_one_survivor() {
        String app = "kv";
        try (TestCluster cluster = TestCluster.start(3)) {
            List<PartitionOwner> owners = new ArrayList<>();
            AtomicLongArray gainedAtNs = new AtomicLongArray(3);
            for (int i = 0; i < 3; i++) {
                PartitionOwner p = PartitionOwner.ofApp(cluster.hz(i), app);
                owners.add(p);
                int member = i;
                p.onChange(local -> {
                    if (local) {
                        gainedAtNs.compareAndSet(member, 0, System.nanoTime());
                    }
                });
            }
            int first = -1;
            for (int i = 0; i < 3; i++) {
                if (owners.get(i).isLocal()) {
                    assertEquals(-1, first, "two members own one partition");
                    first = i;
                }
            }
            assertTrue(first >= 0, "a member owns the ring's partition");
            for (int i = 0; i < 3; i++) {
                assertEquals(i == first ? 1 : 0, gainedAtNs.get(i) == 0 ? 0 : 1, "ownership reported to member " + (i + 1));
            }

            RingbufferFrameLog writer = new RingbufferFrameLog(cluster.hz(first), app);
            await(writer.recover(RingCursor.GENESIS), WAIT);
            FrameMaker maker = new FrameMaker(app, 1);
            List<Frame> written = new ArrayList<>();
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= 300; i++) {
                Frame f = maker.next("SET k" + i + " v" + i);
                written.add(f);
                acks.add(writer.append(f));
            }
            for (CompletableFuture<Long> ack : acks) {
                await(ack, WAIT);
            }

            owners.get(first).close();
            long crashNs = System.nanoTime();
            cluster.crash(first);
            long crashCallMs = (System.nanoTime() - crashNs) / 1_000_000;
            List<Integer> survivors = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if (i != first) {
                    survivors.add(i);
                }
            }
            TestCluster.awaitTrue(() -> survivors.stream().anyMatch(s -> gainedAtNs.get(s) != 0), WAIT,
                    "a survivor to report that it owns the ring's partition");
            // Both survivors agree on the owner, and it is one of them.
            TestCluster.awaitTrue(() -> {
                Optional<Member> a = owners.get(survivors.get(0)).owner();
                Optional<Member> b = owners.get(survivors.get(1)).owner();
                return a.isPresent() && a.equals(b);
            }, WAIT, "the survivors to agree on the new owner");
            int next = owners.get(survivors.get(0)).isLocal() ? survivors.get(0) : survivors.get(1);
            assertTrue(owners.get(next).isLocal());
            int other = next == survivors.get(0) ? survivors.get(1) : survivors.get(0);
            assertEquals(false, owners.get(other).isLocal());
            long movedMs = (gainedAtNs.get(next) - crashNs) / 1_000_000;

            for (int s : survivors) {
                RingbufferFrameLog log = new RingbufferFrameLog(cluster.hz(s), app);
                List<Frame> read = RingbufferFrameLogTest.readAll(log, RingCursor.GENESIS);
                assertEquals(written.size(), read.size(), "frames on survivor " + (s + 1));
                assertEquals(written, read, "frames on survivor " + (s + 1));
                RingbufferFrameLogTest.assertChained(read);
            }

            // The new owner continues the history in a new epoch.
            TestCluster.awaitTrue(owners.get(next)::backupsInSync, WAIT, "the new owner's backups to be in sync");
            RingbufferFrameLog successor = new RingbufferFrameLog(cluster.hz(next), app);
            RingCursor end = await(successor.recover(RingCursor.GENESIS), WAIT);
            assertEquals(300, end.lastFrameSeq());
            Frame f301 = FrameMaker.after(app, 2, end).next("SET after failover");
            assertEquals(300L, await(successor.append(f301), WAIT));
            long firstAppendMs = (System.nanoTime() - crashNs) / 1_000_000;
            System.out.println("failover: owner terminated (the terminate + Vert.x close call took " + crashCallMs + " ms); a "
                    + "survivor reported owning the partition " + movedMs + " ms after the terminate began; all 300 frames read "
                    + "on both survivors; the successor's first append was acknowledged " + firstAppendMs + " ms after it "
                    + "(this includes reading the 300 frames on both survivors and recovering)");
            for (int s : survivors) {
                owners.get(s).close();
            }
        }
    }
}
