package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.sequencer.FrameSequencer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * When a single node's sequencer asks for snapshots ({@link NodeParts#snapshotCost}): not before the frames since the last
 * request hold as many bytes as the last snapshot's state (up to 32 MiB) or the newest snapshot file, whichever is larger.
 */
class SnapshotCostTest {
    private static final byte[] ENTROPY = {1};

    @Test
    void the_cost_is_the_state_up_to_the_cap_or_the_file_if_larger() {
        assertEquals(6_815_861, NodeParts.snapshotCost(584_896, 6_815_861), "the kv after 250,000 LPUSHes");
        assertEquals(NodeParts.SNAPSHOT_COST_STATE_CAP, NodeParts.snapshotCost(5_000_000, 256L << 20), "state capped");
        assertEquals(40_000_000, NodeParts.snapshotCost(40_000_000, 256L << 20), "a file larger than the cap");
        assertEquals(0, NodeParts.snapshotCost(0, 0), "nothing known yet: count and time rules alone");
    }

    /**
     * Frames of 20 small SETs each (about 1.2 KB), every one durable at once, under the repository's cadence (a request
     * every 1,000 frames): with a 6.8 MB state the first request waits for 6.8 MB of frames, not 1,000 frames.
     */
    @Test
    void small_frames_over_a_large_state_snapshot_by_bytes_not_by_count() {
        long cost = NodeParts.snapshotCost(584_896, 6_815_861);
        List<Long> at = snapshotFrames(cost, 20_000);
        assertTrue(!at.isEmpty(), "a snapshot is asked for");
        long first = at.get(0);
        assertTrue(first > 1_000, "not at the count alone: frame " + first);
        long before = bytesBefore.get(first);
        assertTrue(before >= cost && before < cost + 1_400, "the first frame after " + cost + " bytes of frames: frame "
                + first + ", " + before + " bytes before it");
        List<Long> small = snapshotFrames(NodeParts.snapshotCost(20_000, 300_000), 2_500);
        assertEquals(List.of(1_000L, 2_000L), small, "a small state: every 1,000 frames, as the count says");
    }

    /** Frame bytes cut before each frame that asked for a snapshot, by its seq. */
    private final java.util.Map<Long, Long> bytesBefore = new java.util.HashMap<>();

    /** The frames (of {@code frames} cut) whose events ask for a snapshot, with the sequencer told {@code cost}. */
    private List<Long> snapshotFrames(long cost, int frames) {
        FrameSequencer s = new FrameSequencer("kv", 1, new FrameSequencer.Options(256, 64 << 10, 2_000_000L, 100_000,
                1000, 60_000_000_000L), 0, Frame.GENESIS_HASH, 0);
        s.snapshotBytes(cost);
        List<Long> asked = new java.util.ArrayList<>();
        long bytes = 0;
        byte[] set = "*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$3\r\nxxx\r\n".getBytes();
        for (int i = 1; i <= frames; i++) {
            List<IngressEvent> events = new java.util.ArrayList<>();
            for (int r = 0; r < 20; r++) {
                events.add(new IngressEvent.Data(r + 1, set));
            }
            assertTrue(s.offerBatch(new IngressBatch(1, i, events), i));
            Frame f = s.next(i, ENTROPY);
            if (f.events().contains(new IngressEvent.SnapshotRequest())) {
                asked.add(f.seq());
                bytesBefore.put(f.seq(), bytes);
            }
            int size = s.lastEncoded().length;
            assertTrue(size < 1_400, "a frame of about 1.2 KB: " + size);
            bytes += size;
            s.durable(f.seq());
        }
        return asked;
    }
}
