package io.replicode.cluster;

import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import io.replicode.sequencer.FrameSequencer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/** Chained frames of one app cut by the real {@link FrameSequencer}, one Data event each. */
final class FrameMaker {
    private static final FrameSequencer.Options OPTIONS = new FrameSequencer.Options(256, 64 << 10, 2_000_000L, 100_000);

    private final FrameSequencer sequencer;
    private final SecureRandom random = new SecureRandom();
    private long nowNs = 1_700_000_000_000_000_000L;

    /** Frames of {@code app} in {@code epoch} from frame 1 on. */
    FrameMaker(String app, long epoch) {
        this(app, epoch, 0, Frame.GENESIS_HASH, 0);
    }

    /** Frames of {@code app} in {@code epoch} continuing after frame {@code lastSeq} with hash {@code lastHash}. */
    FrameMaker(String app, long epoch, long lastSeq, byte[] lastHash, long lastTimeNs) {
        sequencer = new FrameSequencer(app, epoch, OPTIONS, lastSeq, lastHash, lastTimeNs);
        nowNs = Math.max(nowNs, lastTimeNs);
    }

    /** Frames continuing after the last frame {@code cursor} accepted. */
    static FrameMaker after(String app, long epoch, RingCursor cursor) {
        return new FrameMaker(app, epoch, cursor.lastFrameSeq(), cursor.lastFrameHash(), 0);
    }

    Frame next(String payload) {
        nowNs += 1_000_000;
        sequencer.offer(new IngressEvent.Data(42L, payload.getBytes(StandardCharsets.UTF_8)), nowNs);
        byte[] entropy = new byte[16];
        random.nextBytes(entropy);
        Frame f = sequencer.next(nowNs, entropy);
        sequencer.durable(f.seq());
        return f;
    }

    static byte[] hash(Frame f) {
        return FrameCodec.hash(FrameCodec.encode(f));
    }
}
