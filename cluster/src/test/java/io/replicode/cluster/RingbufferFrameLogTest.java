package io.replicode.cluster;

import static io.replicode.cluster.TestCluster.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.RingbufferConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.ringbuffer.Ringbuffer;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The ring log on a real three-member cluster: one cluster for the class, one app per test. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RingbufferFrameLogTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Small enough for a test to wrap it (static ring configuration wins over dynamic, so it is the cluster's). */
    private static final int CAPACITY = 600;
    private static TestCluster cluster;

    @BeforeAll
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    static void startCluster() {
        cluster = TestCluster.start(3, s -> s.withRingCapacity(CAPACITY));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void the_owner_appends_and_every_member_reads_the_same_chain() {
        String app = "chain";
        HazelcastInstance owner = ownerOf(app);
        RingbufferFrameLog writer = new RingbufferFrameLog(owner, app);
        assertEquals(RingCursor.GENESIS, await(writer.recover(RingCursor.GENESIS), WAIT));

        FrameMaker maker = new FrameMaker(app, 1);
        List<Frame> written = new ArrayList<>();
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            Frame f = maker.next("SET k" + i + " v" + i);
            written.add(f);
            acks.add(writer.append(f));
        }
        for (int i = 0; i < acks.size(); i++) {
            assertEquals(written.get(i).seq() - 1, await(acks.get(i), WAIT), "ring position of frame " + written.get(i).seq());
        }
        assertEquals(500, writer.cursor().lastFrameSeq());
        assertEquals(0, writer.cursor().strays());

        for (int m = 0; m < cluster.size(); m++) {
            RingbufferFrameLog reader = new RingbufferFrameLog(cluster.hz(m), app);
            List<Frame> read = readAll(reader, RingCursor.GENESIS);
            assertEquals(written.size(), read.size(), "frames read on member " + (m + 1));
            assertEquals(written, read, "frames read on member " + (m + 1));
            assertChained(read);
            assertEquals(-1 + 500, reader.tailSeq());
            assertEquals(0, reader.headSeq());
        }
    }

    @Test
    void a_second_writer_is_fenced_and_every_reader_skips_its_frame() {
        String app = "fence";
        HazelcastInstance owner = ownerOf(app);
        HazelcastInstance other = cluster.hz((cluster.indexOf(owner) + 1) % cluster.size());

        RingbufferFrameLog a = new RingbufferFrameLog(owner, app);
        await(a.recover(RingCursor.GENESIS), WAIT);
        FrameMaker makerA = new FrameMaker(app, 1);
        for (int i = 1; i <= 5; i++) {
            await(a.append(makerA.next("a" + i)), WAIT);
        }

        // A successor takes over (epoch 2) while the old sequencer still runs.
        RingbufferFrameLog b = new RingbufferFrameLog(other, app);
        RingCursor atB = await(b.recover(RingCursor.GENESIS), WAIT);
        assertEquals(5, atB.lastFrameSeq());
        FrameMaker makerB = FrameMaker.after(app, 2, atB);
        Frame b6 = makerB.next("b6");
        assertEquals(5L, await(b.append(b6), WAIT));

        Frame a6 = makerA.next("a6");
        RingLogException fenced = assertThrows(RingLogException.class, () -> await(a.append(a6), WAIT));
        assertEquals(RingLogException.Reason.FENCED, fenced.reason());
        assertTrue(fenced.getMessage().contains("frame 6"), fenced.getMessage());
        Frame a7 = makerA.next("a7");
        assertEquals(RingLogException.Reason.FENCED,
                assertThrows(RingLogException.class, () -> await(a.append(a7), WAIT)).reason(), "a fenced writer stays fenced");

        // The successor's next frame lands after the stray and is found there.
        Frame b7 = makerB.next("b7");
        assertEquals(7L, await(b.append(b7), WAIT));

        for (int m = 0; m < cluster.size(); m++) {
            RingbufferFrameLog reader = new RingbufferFrameLog(cluster.hz(m), app);
            RingRead read = await(reader.readMany(RingCursor.GENESIS, 100), WAIT);
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), read.frames().stream().map(Frame::seq).toList());
            assertEquals(b6, read.frames().get(5));
            assertEquals(b7, read.frames().get(6));
            assertEquals(1, read.strays());
            assertEquals(1, read.next().strays());
            assertChained(read.frames());
        }

        // The old writer recovers behind the successor and cannot continue in its old epoch.
        RingCursor atA = await(a.recover(a.cursor()), WAIT);
        assertEquals(7, atA.lastFrameSeq());
        assertEquals(8, atA.nextRingSeq());
        Frame oldEpoch = FrameMaker.after(app, 1, atA).next("a8");
        assertThrows(IllegalArgumentException.class, () -> a.append(oldEpoch));

        // A replica that applied frame 7 finds where to continue.
        RingCursor located = await(new RingbufferFrameLog(other, app).locate(7, FrameMaker.hash(b7)), WAIT);
        assertEquals(atA, located);
    }

    @Test
    void a_copy_left_by_a_retried_add_is_skipped_and_our_frame_is_found_first() {
        String app = "retry";
        HazelcastInstance owner = ownerOf(app);
        RingbufferFrameLog writer = new RingbufferFrameLog(owner, app);
        await(writer.recover(RingCursor.GENESIS), WAIT);
        Ringbuffer<byte[]> raw = owner.getRingbuffer(writer.ringName());
        FrameMaker maker = new FrameMaker(app, 1);
        for (int i = 1; i <= 3; i++) {
            await(writer.append(maker.next("f" + i)), WAIT);
        }
        Frame f3 = await(writer.readMany(await(writer.locate(2, hashOfFrame(writer, 2)), WAIT), 10), WAIT).frames().get(0);
        raw.add(FrameCodec.encode(f3));           // frame 3 again, as a retried invocation would leave it

        Frame f4 = maker.next("f4");
        assertEquals(4L, await(writer.append(f4), WAIT), "frame 4 lands after the copy");

        Frame f5 = maker.next("f5");
        raw.add(FrameCodec.encode(f5));           // frame 5 stored, as if the first attempt landed and its answer was lost
        assertEquals(5L, await(writer.append(f5), WAIT), "the first copy of frame 5 is the one in the history");

        Frame f6 = maker.next("f6");
        assertEquals(7L, await(writer.append(f6), WAIT));
        RingRead read = await(writer.readMany(RingCursor.GENESIS, 100), WAIT);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), read.frames().stream().map(Frame::seq).toList());
        assertEquals(2, read.strays());
        assertChained(read.frames());
    }

    @Test
    void a_reader_behind_the_ring_is_told_to_load_a_snapshot() {
        String app = "wrap";
        HazelcastInstance owner = ownerOf(app);
        RingbufferFrameLog writer = new RingbufferFrameLog(owner, app);
        assertEquals(CAPACITY, writer.capacity());
        await(writer.recover(RingCursor.GENESIS), WAIT);
        FrameMaker maker = new FrameMaker(app, 1);
        List<Frame> written = new ArrayList<>();
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = 1; i <= CAPACITY + 20; i++) {
            Frame f = maker.next("f" + i);
            written.add(f);
            acks.add(writer.append(f));
        }
        for (CompletableFuture<Long> ack : acks) {
            await(ack, WAIT);
        }
        RingbufferFrameLog reader = new RingbufferFrameLog(cluster.hz((cluster.indexOf(owner) + 1) % 3), app);
        assertEquals(20, reader.headSeq());
        RingLogException overrun = assertThrows(RingLogException.class, () -> await(reader.readMany(RingCursor.GENESIS, 10), WAIT));
        assertEquals(RingLogException.Reason.OVERRUN, overrun.reason());
        assertTrue(overrun.getMessage().contains("load a snapshot"), overrun.getMessage());

        // After loading a snapshot taken at frame 100, the reader continues from the ring.
        RingCursor after100 = await(reader.locate(100, FrameMaker.hash(written.get(99))), WAIT);
        assertEquals(written.subList(100, written.size()), readAll(reader, after100));
        // Frame 20 (position 19) is gone: a replica that has only that far needs a snapshot as well.
        assertEquals(RingLogException.Reason.OVERRUN, assertThrows(RingLogException.class,
                () -> await(reader.locate(20, FrameMaker.hash(written.get(19))), WAIT)).reason());
    }

    @Test
    void a_ring_that_started_again_is_not_mistaken_for_the_history() {
        String app = "restart";
        HazelcastInstance owner = ownerOf(app);
        RingbufferFrameLog writer = new RingbufferFrameLog(owner, app);
        await(writer.recover(RingCursor.GENESIS), WAIT);
        FrameMaker maker = new FrameMaker(app, 1);
        for (int i = 1; i <= 5; i++) {
            await(writer.append(maker.next("f" + i)), WAIT);
        }
        RingCursor at5 = writer.cursor();
        owner.getRingbuffer(writer.ringName()).destroy();   // what losing every member holding it looks like

        RingbufferFrameLog reader = new RingbufferFrameLog(cluster.hz(0), app);
        assertEquals(RingLogException.Reason.RING_RESTARTED,
                assertThrows(RingLogException.class, () -> await(reader.readMany(at5, 10), WAIT)).reason());
        assertEquals(RingLogException.Reason.RING_RESTARTED,
                assertThrows(RingLogException.class, () -> await(writer.append(maker.next("f6")), WAIT)).reason());
        // Frame 6 did land, at position 0 of the new ring, where it is no frame of any history.
        RingRead fresh = await(reader.readMany(RingCursor.GENESIS, 10), WAIT);
        assertEquals(List.of(), fresh.frames());
        assertEquals(1, fresh.strays());
    }

    @Test
    void append_and_read_latency_on_loopback() {
        String app = "latency";
        HazelcastInstance owner = ownerOf(app);
        HazelcastInstance remote = cluster.hz((cluster.indexOf(owner) + 1) % 3);
        int n = 250;
        String remoteApp = "latency-remote";
        RingbufferFrameLog ownerLog = new RingbufferFrameLog(owner, app);
        RingbufferFrameLog remoteLog = new RingbufferFrameLog(nonOwnerOf(remoteApp), remoteApp);
        await(ownerLog.recover(RingCursor.GENESIS), WAIT);
        await(remoteLog.recover(RingCursor.GENESIS), WAIT);
        FrameMaker ownerFrames = new FrameMaker(app, 1);
        FrameMaker remoteFrames = new FrameMaker(remoteApp, 1);
        appendOneByOne(ownerLog, ownerFrames, n);      // warm-up of both paths
        appendOneByOne(remoteLog, remoteFrames, n);
        long[] local = appendOneByOne(ownerLog, ownerFrames, n);
        long[] fromElsewhere = appendOneByOne(remoteLog, remoteFrames, n);
        RingbufferFrameLog reader = new RingbufferFrameLog(remote, app);
        long[] reads = new long[50];
        RingCursor from = RingCursor.GENESIS;
        for (int i = 0; i < reads.length; i++) {
            long t = System.nanoTime();
            RingRead r = await(reader.readMany(from, 100), WAIT);
            reads[i] = System.nanoTime() - t;
            from = r.next().nextRingSeq() >= 2 * n ? RingCursor.GENESIS : r.next();
        }
        // Pipelined: appends queue while one addAll is in flight and go in the next (group commit).
        int burst = 5000;
        List<CompletableFuture<Long>> acks = new ArrayList<>(burst);
        long t0 = System.nanoTime();
        for (int i = 0; i < burst; i++) {
            acks.add(ownerLog.append(ownerFrames.next("SET key" + i + " " + "x".repeat(100))));
        }
        for (CompletableFuture<Long> ack : acks) {
            await(ack, WAIT);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("throughput: %d frames of ~%d bytes appended pipelined from the owner in %.3f s: %.0f frames/s%n",
                burst, FrameCodec.encode(ownerFrames.next("SET key " + "x".repeat(100))).length, seconds, burst / seconds);
        System.out.println("latency: append one frame from the owner (2 sync backups): " + summary(local));
        System.out.println("latency: append one frame from a non-owner member: " + summary(fromElsewhere));
        System.out.println("latency: readMany of 100 frames on a non-owner member: " + summary(reads));
    }

    private static long[] appendOneByOne(RingbufferFrameLog log, FrameMaker maker, int n) {
        long[] ns = new long[n];
        for (int i = 0; i < n; i++) {
            Frame f = maker.next("SET key" + i + " " + "x".repeat(100));
            long t = System.nanoTime();
            await(log.append(f), WAIT);
            ns[i] = System.nanoTime() - t;
        }
        return ns;
    }

    private static String summary(long[] ns) {
        long[] w = ns.clone();
        Arrays.sort(w);
        return String.format("n=%d p50=%.3f ms p90=%.3f ms p99=%.3f ms max=%.3f ms", w.length, w[w.length / 2] / 1e6,
                w[(int) (w.length * 0.9)] / 1e6, w[Math.min(w.length - 1, (int) (w.length * 0.99))] / 1e6, w[w.length - 1] / 1e6);
    }

    private static HazelcastInstance ownerOf(String app) {
        for (int i = 0; i < cluster.size(); i++) {
            try (PartitionOwner p = PartitionOwner.ofApp(cluster.hz(i), app)) {
                if (p.isLocal()) {
                    return cluster.hz(i);
                }
            }
        }
        throw new AssertionError("no member owns the ring of " + app);
    }

    private static HazelcastInstance nonOwnerOf(String app) {
        return cluster.hz((cluster.indexOf(ownerOf(app)) + 1) % cluster.size());
    }

    private static byte[] hashOfFrame(RingbufferFrameLog log, long seq) {
        List<Frame> frames = readAll(log, RingCursor.GENESIS);
        return FrameMaker.hash(frames.get((int) seq - 1));
    }

    static List<Frame> readAll(RingbufferFrameLog log, RingCursor from) {
        List<Frame> out = new ArrayList<>();
        RingCursor at = from;
        while (true) {
            RingRead r = await(log.readMany(at, RingbufferFrameLog.MAX_READ_ENTRIES), WAIT);
            out.addAll(r.frames());
            if (r.next().nextRingSeq() == at.nextRingSeq()) {
                return out;
            }
            at = r.next();
        }
    }

    static void assertChained(List<Frame> frames) {
        for (int i = 1; i < frames.size(); i++) {
            assertEquals(frames.get(i - 1).seq() + 1, frames.get(i).seq());
            assertArrayEquals(FrameMaker.hash(frames.get(i - 1)), frames.get(i).prevHash(), "prevHash of frame " + frames.get(i).seq());
        }
    }
}
