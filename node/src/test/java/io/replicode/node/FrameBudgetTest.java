package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.replica.module.Engine;
import io.replicode.sequencer.FrameSequencer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How many client bytes one frame carries on a single node and in a cluster ({@link NodeParts#singleNodeFrameBytes}). */
class FrameBudgetTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final byte[] ENTROPY = {1};

    private static NodeConfig node() {
        // The repository's config, its kv app's module named by an absolute path (tests run in node/).
        return ConfigLoader.load(new ConfigLoader.Flags(REPO.resolve(ConfigLoader.DEFAULT_CONFIG), true, "127.0.0.1",
                Engine.COMPILER, Path.of("data"), List.of("kv=" + REPO.resolve("wasm-programs/wasm/kv_server.wasm")), List.of()));
    }

    /** Four 64 KiB reads of one client (a large upload), offered as one gateway batch; the frames cut from them. */
    private static List<Frame> cutFourReads(FrameSequencer.Options options) {
        FrameSequencer s = new FrameSequencer("kv", 1, options, 0, Frame.GENESIS_HASH, 0);
        List<IngressEvent> reads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            reads.add(new IngressEvent.Data(7, new byte[64 << 10]));
        }
        assertTrue(s.offerBatch(new IngressBatch(1, 1, reads), 0));
        List<Frame> frames = new ArrayList<>();
        Frame f;
        while ((f = s.next(0, ENTROPY)) != null || s.pendingEvents() > 0) {
            if (f == null) {
                s.durable(frames.get(frames.size() - 1).seq());
                continue;
            }
            frames.add(f);
        }
        return frames;
    }

    private static int dataEvents(List<Frame> frames) {
        return frames.stream().mapToInt(fr -> (int) fr.events().stream().filter(e -> e instanceof IngressEvent.Data).count()).sum();
    }

    @Test
    void aSingleNodeFrameCarriesAWholeReceiveWindowUnsplit() {
        NodeConfig node = node();
        AppConfig kv = node.apps().stream().filter(a -> a.name().equals("kv")).findFirst().orElseThrow();
        assertEquals(256 << 10, kv.limits().receiveBufferBytes(), "the kv app's receive window (the default)");
        List<Frame> frames = cutFourReads(NodeParts.sequencerOptions(node, NodeParts.singleNodeFrameBytes(kv.limits().receiveBufferBytes())));
        assertEquals(1, frames.size(), "256 KiB of reads in one frame");
        assertEquals(4, dataEvents(frames), "no 64 KiB read split by the frame's own fields");
    }

    @Test
    void theWindowDecidesBetween64KiBAnd1MiB() {
        assertEquals((64 << 10) + NodeParts.FRAME_HEADROOM_BYTES, NodeParts.singleNodeFrameBytes(16 << 10), "a small window");
        assertEquals((512 << 10) + NodeParts.FRAME_HEADROOM_BYTES, NodeParts.singleNodeFrameBytes(512 << 10));
        assertEquals((1 << 20) + NodeParts.FRAME_HEADROOM_BYTES, NodeParts.singleNodeFrameBytes(64 << 20),
                "a 64 MiB window: frames stay at 1 MiB, far below the replay log's 32 MiB record limit");
        assertEquals((1 << 20) + NodeParts.FRAME_HEADROOM_BYTES, NodeParts.singleNodeFrameBytes(Integer.MAX_VALUE), "no overflow");
        assertTrue(NodeParts.singleNodeFrameBytes(Integer.MAX_VALUE) < io.replicode.replay.ReplayLog.Options.DEFAULT.maxRecordBytes());
    }

    @Test
    void aClusterFrameStaysAt64KiBOfEvents() {
        List<Frame> frames = cutFourReads(NodeParts.sequencerOptions(node(), NodeParts.CLUSTER_FRAME_BYTES));
        assertEquals(8, dataEvents(frames), "each 64 KiB read split in two (64 KiB less a Data event's header, then the rest)");
        assertTrue(frames.size() >= 8, frames.size() + " frames");
    }
}
