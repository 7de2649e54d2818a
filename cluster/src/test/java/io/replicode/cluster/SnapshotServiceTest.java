package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A member's newest snapshot, offered and streamed in chunks over the cluster's event bus, arrives whole. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SnapshotServiceTest {
    @TempDir
    Path dir;

    @Test
    void the_newest_snapshot_of_any_replica_streams_whole_in_several_chunks_with_its_frame() throws Exception {
        try (TestCluster cluster = TestCluster.start(2);
             ReplayLog log = ReplayLog.open(dir.resolve("log"), "kv", ReplayLog.Options.DEFAULT)) {
            for (long seq = 1; seq <= 5; seq++) {
                log.append(new Frame("kv", 1, seq, seq, new byte[] {(byte) seq}, List.of(new IngressEvent.Open(seq, "resp")),
                        log.lastHash())).join();
            }
            SnapshotStore older = new SnapshotStore(dir.resolve("r1"), 2);
            SnapshotStore newer = new SnapshotStore(dir.resolve("r2"), 2);
            byte[] big = new byte[2 * SnapshotService.CHUNK_BYTES + 12_345];
            new Random(7).nextBytes(big);
            older.save(3, new byte[] {1, 2, 3});
            newer.save(4, big);
            Vertx server = cluster.member(0).vertx();
            String serverUuid = cluster.hz(0).getCluster().getLocalMember().getUuid().toString();
            SnapshotService.serve(server, serverUuid, "kv", List.of(older, newer), log).completion()
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);

            Vertx joiner = cluster.member(1).vertx();
            Optional<SnapshotService.Offer> offer = SnapshotService.newestOffer(joiner, "kv", List.of(serverUuid, "no-such-member"))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(offer.isPresent(), "a member that does not answer is skipped");
            assertEquals(4, offer.get().seq());
            SnapshotService.Fetched got = SnapshotService.fetch(joiner, "kv", offer.get())
                    .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertArrayEquals(big, got.snapshot());
            assertEquals(log.read(4, 1).get(0), got.frame());
            assertArrayEquals(FrameCodec.encode(got.frame()), got.frameBytes());
        }
    }
}
