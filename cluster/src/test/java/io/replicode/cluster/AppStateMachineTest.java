package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.ReplayLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state machine's rule for committed entries, and its snapshot file, without a Raft server. */
class AppStateMachineTest {
    private static final String APP = "kv";

    /** Frames of one history: each chains to the one before, cut in the given epoch. */
    private static final class Chain {
        byte[] lastHash = Frame.GENESIS_HASH;
        long seq;

        byte[] next(long epoch, List<IngressEvent> events) {
            Frame f = new Frame(APP, epoch, ++seq, 1_000L * seq, new byte[16], events, lastHash);
            byte[] bytes = FrameCodec.encode(f);
            lastHash = FrameCodec.hash(bytes);
            return bytes;
        }
    }

    private static final class Seen implements AppStateMachine.Listener {
        final List<Long> applied = new ArrayList<>();

        @Override
        public void applied(Frame frame, byte[] bytes) {
            applied.add(frame.seq());
        }

        @Override
        public void leaderReady(long term) {
        }

        @Override
        public void leaderChanged(String leader, long term) {
        }

        @Override
        public void installed(long seq) {
        }
    }

    @Test
    void committed_frames_enter_the_history_once_in_order_and_stale_or_forked_ones_never(@TempDir Path dir) {
        try (ReplayLog log = ReplayLog.open(dir.resolve("log"), APP, ReplayLog.Options.DEFAULT.withFsync(ReplayLog.FsyncPolicy.NEVER))) {
            Seen seen = new Seen();
            AppStateMachine sm = new AppStateMachine(APP, log, List.of(), seen);
            Chain chain = new Chain();
            byte[] f1 = chain.next(1, List.of(new IngressEvent.Batch(7, 1), new IngressEvent.Open(7L << 40, "resp")));
            byte[] f2 = chain.next(1, List.of(new IngressEvent.Batch(7, 2)));
            assertEquals("applied", sm.apply(f1, 1, 1));
            assertEquals("applied", sm.apply(f2, 1, 2));
            // The same frame again (a resend appended twice): dropped.
            assertEquals("duplicate", sm.apply(f2, 1, 3));
            // A frame of term 1 appended by the leader of term 2: stale, whatever it holds.
            byte[] staleF3 = chain.next(1, List.of(new IngressEvent.Batch(7, 3)));
            assertEquals("stale", sm.apply(staleF3, 2, 4));
            // A frame that skips seq 3: rejected, the history stays at 2.
            Chain skipping = new Chain();
            skipping.seq = 3;
            skipping.lastHash = FrameCodec.hash(f2);
            assertEquals("rejected", sm.apply(skipping.next(2, List.of()), 2, 5));
            // Seq 3 that does not chain to frame 2: rejected too.
            Chain forked = new Chain();
            forked.seq = 2;
            assertEquals("rejected", sm.apply(forked.next(2, List.of()), 2, 6));
            assertEquals("malformed", sm.apply(new byte[] {1, 2, 3}, 2, 7));
            assertEquals(2, log.lastSeq());
            assertEquals(List.of(1L, 2L), seen.applied);
            assertEquals(Map.of(7, 2L), sm.batchTable().entries());
            Map<String, Object> c = sm.counters();
            assertEquals(2L, c.get("appliedFrames"));
            assertEquals(1L, c.get("duplicateFrames"));
            assertEquals(1L, c.get("staleFrames"));
            assertEquals(2L, c.get("rejectedFrames"));
            assertEquals(1L, c.get("malformedFrames"));
        }
    }

    @Test
    void the_batch_table_is_rebuilt_from_the_log_at_start_and_a_gateway_loss_takes_its_gateway_out(@TempDir Path dir) {
        Chain chain = new Chain();
        try (ReplayLog log = ReplayLog.open(dir.resolve("log"), APP, ReplayLog.Options.DEFAULT)) {
            AppStateMachine sm = new AppStateMachine(APP, log, List.of(), new Seen());
            sm.apply(chain.next(1, List.of(new IngressEvent.Batch(3, 5), new IngressEvent.Batch(4, 9))), 1, 1);
            sm.apply(chain.next(1, List.of(new IngressEvent.Batch(0, 0), new IngressEvent.GatewayLost(3))), 1, 2);
        }
        try (ReplayLog log = ReplayLog.open(dir.resolve("log"), APP, ReplayLog.Options.DEFAULT)) {
            AppStateMachine again = new AppStateMachine(APP, log, List.of(), new Seen());
            assertEquals(Map.of(4, 9L), again.batchTable().entries());
            assertEquals(2000L, again.lastTimeNs());
        }
    }

    @Test
    void a_replica_snapshot_larger_than_one_copy_piece_is_copied_whole(@TempDir Path dir) throws IOException {
        byte[] frame = new Chain().next(4, List.of(new IngressEvent.SnapshotRequest()));
        byte[] replica = new byte[(1 << 20) * 2 + 12345];
        new java.util.Random(7).nextBytes(replica);
        Path source = dir.resolve("replica.snap");
        Files.write(source, replica);
        Path file = dir.resolve("snapshot.4_99");
        org.apache.ratis.io.MD5Hash md5 = AppStateMachine.write(file, APP, frame, source);
        assertEquals(org.apache.ratis.util.MD5FileUtil.computeMd5ForFile(file.toFile()), md5);
        assertArrayEquals(replica, AppStateMachine.read(file).replica());
        assertTrue(Files.notExists(dir.resolve("snapshot.4_99.tmp")));
    }

    @Test
    void a_snapshot_file_holds_the_frame_and_the_replica_snapshot_and_a_damaged_one_is_refused(@TempDir Path dir)
            throws IOException {
        byte[] frame = new Chain().next(4, List.of(new IngressEvent.SnapshotRequest()));
        byte[] replica = "machine state".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path file = dir.resolve("snapshot.4_17");
        Path source = dir.resolve("replica.snap");
        Files.write(source, replica);
        org.apache.ratis.io.MD5Hash md5 = AppStateMachine.write(file, APP, frame, source);
        // The MD5 computed while writing is the one Ratis checks a transferred snapshot against.
        assertEquals(org.apache.ratis.util.MD5FileUtil.computeMd5ForFile(file.toFile()), md5);
        AppStateMachine.Snapshot s = AppStateMachine.read(file);
        assertEquals(APP, s.app());
        assertEquals(1, s.frame().seq());
        assertArrayEquals(frame, s.frameBytes());
        assertArrayEquals(replica, s.replica());

        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 1;
        Files.write(file, bytes);
        IOException e = assertThrows(IOException.class, () -> AppStateMachine.read(file));
        assertTrue(e.getMessage().contains("CRC") && e.getMessage().contains("Fix:"), e.getMessage());
        Files.write(file, new byte[5]);
        assertTrue(assertThrows(IOException.class, () -> AppStateMachine.read(file)).getMessage().contains("truncated"));
    }
}
