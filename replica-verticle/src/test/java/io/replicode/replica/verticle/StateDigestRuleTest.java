package io.replicode.replica.verticle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** Which frames carry the full-state digest, by the guest's memory size ({@link ReplicaVerticle#stateDigestDue}). */
class StateDigestRuleTest {
    private static final int PAGES_PER_MIB = 16;

    /** The frames in 1..limit whose records carry the state digest for a memory of {@code pages} pages. */
    private static long[] dueFrames(int pages, long limit) {
        return LongStream.rangeClosed(1, limit).filter(seq -> ReplicaVerticle.stateDigestDue(seq, pages)).toArray();
    }

    @Test
    void upTo2MiBEveryHundredFrames() {
        assertEquals(java.util.Arrays.toString(new long[] {100, 200, 300, 400}),
                java.util.Arrays.toString(dueFrames(1, 400)));
        assertEquals(java.util.Arrays.toString(new long[] {100, 200, 300, 400}),
                java.util.Arrays.toString(dueFrames(26, 400)), "the kv app as it starts (26 pages)");
        assertEquals(java.util.Arrays.toString(new long[] {100, 200, 300, 400}),
                java.util.Arrays.toString(dueFrames(2 * PAGES_PER_MIB, 400)), "exactly 2 MiB");
    }

    @Test
    void eachDoublingBeyondHalvesHowOften() {
        assertEquals(java.util.Arrays.toString(new long[] {200, 400}),
                java.util.Arrays.toString(dueFrames(2 * PAGES_PER_MIB + 1, 400)), "one page over 2 MiB");
        assertEquals(java.util.Arrays.toString(new long[] {800, 1600}),
                java.util.Arrays.toString(dueFrames(165, 1600)), "10.8 MB, the kv after 250,000 LPUSHes");
        assertEquals(java.util.Arrays.toString(new long[] {3_200, 6_400}),
                java.util.Arrays.toString(dueFrames(64 * PAGES_PER_MIB, 6_400)), "64 MiB");
        assertEquals(java.util.Arrays.toString(new long[] {6_400, 12_800}),
                java.util.Arrays.toString(dueFrames(1813, 12_800)), "113 MiB, a kv holding large values");
        assertEquals(java.util.Arrays.toString(new long[] {204_800}),
                java.util.Arrays.toString(dueFrames(65_536, 210_000)), "4 GiB, the most wasm32 memory can hold");
    }

    @Test
    void digestFramesStayMultiplesOfAHundredWhateverTheMemory() {
        // Replicas whose memory sizes differ (a divergence) still record state at frames the others also may:
        // every interval is 100 times a power of two.
        for (int pages = 1; pages <= 65_536; pages = pages * 2 + 1) {
            for (long seq : dueFrames(pages, 10_000)) {
                assertEquals(0, seq % ReplicaVerticle.STATE_DIGEST_EVERY_FRAMES, pages + " pages, frame " + seq);
            }
        }
    }

    @Test
    void amortisedCopyStaysNearTheBoundPerFrame() {
        // What a state digest copies, spread over the frames between two digests: at most 2 MiB / 100 frames.
        long bound = (2L << 20) / ReplicaVerticle.STATE_DIGEST_EVERY_FRAMES;
        for (int k = 0; k <= 16; k++) {
            for (int pages : new int[] {(1 << k) - 1, 1 << k, (1 << k) + 1}) {
                if (pages < 1 || pages > 65_536) {
                    continue;
                }
                assertCopyBound(pages, bound);
            }
        }
    }

    private static void assertCopyBound(int pages, long bound) {
        long bytes = (long) pages * 65_536;
        long[] due = dueFrames(pages, 500_000);
        long interval = due.length >= 2 ? due[1] - due[0] : 500_000;
        assertTrue(bytes / interval <= bound, pages + " pages: " + bytes / interval + " bytes per frame");
    }
}
