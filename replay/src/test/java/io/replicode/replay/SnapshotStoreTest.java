package io.replicode.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotStoreTest {
    @TempDir
    Path dir;

    @Test
    void keeps_the_newest_snapshots_and_returns_the_latest() throws Exception {
        SnapshotStore store = new SnapshotStore(dir, 2);
        assertTrue(store.latest().isEmpty());
        store.save(10, new byte[] {1});
        store.save(20, new byte[] {2});
        store.save(30, new byte[] {3});
        assertEquals(30, store.latest().orElseThrow().seq());
        assertArrayEquals(new byte[] {3}, store.latest().orElseThrow().bytes());
        assertEquals(20, store.oldestSeq());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
        store.discard(30);
        assertEquals(20, store.latest().orElseThrow().seq());
    }

    @Test
    void knows_the_newest_snapshot_without_reading_it() {
        SnapshotStore store = new SnapshotStore(dir, 2);
        assertEquals(null, store.latestFile());
        assertEquals(0, store.newestBytes());
        store.save(10, new byte[7]);
        store.save(20, new byte[5]);
        assertEquals(20, store.latestFile().seq());
        assertEquals(dir.resolve(String.format("%020d.snap", 20)), store.latestFile().file());
        assertEquals(5, store.newestBytes());
        assertEquals(5, new SnapshotStore(dir, 2).newestBytes(), "a reopened store reads the size from the file");
    }
}
