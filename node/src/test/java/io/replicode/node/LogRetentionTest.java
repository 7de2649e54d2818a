package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogRetentionTest {
    @TempDir
    Path dir;

    @Test
    void frames_before_every_replicas_oldest_snapshot_are_removed() {
        try (ReplayLog log = ReplayLog.open(dir.resolve("log"), "kv", ReplayLog.Options.DEFAULT.withSegmentBytes(4096))) {
            for (int i = 1; i <= 300; i++) {
                log.append(new Frame("kv", 1, i, i, new byte[0], List.of(new io.replicode.nat.IngressEvent.Data(1, new byte[64])),
                        log.lastHash())).join();
            }
            SnapshotStore a = new SnapshotStore(dir.resolve("a"), 2);
            SnapshotStore b = new SnapshotStore(dir.resolve("b"), 2);
            a.save(200, new byte[] {1});
            assertEquals(0, LogRetention.apply(log, List.of(a, b)), "replica b has no snapshot: keep everything");
            b.save(150, new byte[] {1});
            long removed = LogRetention.apply(log, List.of(a, b));
            assertTrue(removed > 0, "segments before frame 151 go");
            assertTrue(log.firstSeq() <= 151, "frame 151 onwards stays: first " + log.firstSeq());
            assertEquals(151, log.read(151, 1).get(0).seq());
        }
    }
}
