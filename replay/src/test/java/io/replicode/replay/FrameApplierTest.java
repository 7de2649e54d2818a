package io.replicode.replay;

import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrameApplierTest {
    private static Frame frame(long seq, byte[] prevHash) {
        return new Frame("kv", 1, seq, seq * 10, new byte[16], List.of(), prevHash);
    }

    @Test
    void the_next_frame_is_appended_a_repeated_one_dropped_and_a_gap_or_fork_refused(@TempDir Path dir) {
        try (ReplayLog log = ReplayLog.open(dir, "kv", ReplayLog.Options.DEFAULT.withFsync(ReplayLog.FsyncPolicy.NEVER))) {
            FrameApplier applier = new FrameApplier(log);
            Frame f1 = frame(1, Frame.GENESIS_HASH);
            byte[] b1 = FrameCodec.encode(f1);
            assertEquals(FrameApplier.Outcome.APPLIED, applier.apply(f1, b1));
            assertEquals(FrameApplier.Outcome.DUPLICATE, applier.apply(f1, b1));
            Frame f2 = frame(2, FrameCodec.hash(b1));
            assertEquals(FrameApplier.Outcome.APPLIED, applier.apply(f2, FrameCodec.encode(f2)));

            Frame gap = frame(4, FrameCodec.hash(FrameCodec.encode(f2)));
            var g = assertThrows(FrameApplier.GapException.class, () -> applier.apply(gap, FrameCodec.encode(gap)));
            assertTrue(g.getMessage().contains("frames 3..3 are missing") && g.getMessage().contains("Fix:"), g.getMessage());
            Frame fork = frame(3, Frame.GENESIS_HASH);
            var f = assertThrows(FrameApplier.GapException.class, () -> applier.apply(fork, FrameCodec.encode(fork)));
            assertTrue(f.getMessage().contains("does not chain"), f.getMessage());
            assertEquals(2, log.lastSeq());
        }
    }
}
