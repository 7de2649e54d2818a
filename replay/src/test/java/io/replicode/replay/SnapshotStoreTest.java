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
}
