package io.replicode.cluster;

import io.replicode.nat.CodecException;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import java.util.Arrays;

/**
 * The chain rule that turns the entries of an app's frame ring into its history, identically on every member.
 *
 * <p>Entries are examined in ring order. An entry is the next frame of the history when it decodes as a frame of
 * this app, its seq is one more than the last accepted frame's, its prevHash is that frame's hash, and its epoch is
 * not lower. Any other entry is a <em>stray</em> and is skipped: the frame of a second sequencer that lost the race
 * for a seq, a frame built on such a stray, a copy added again by a retried invocation, or a frame of a sequencer
 * that an epoch newer than its own has replaced. A verdict never changes: it depends only on the entries before it.
 *
 * <p>Pure and single-threaded: it never touches the ring, callers feed it what they read.
 */
public final class RingFold {
    private final String app;
    private long nextRingSeq;
    private long lastFrameSeq;
    private byte[] lastFrameHash;
    private long lastEpoch;
    private long strays;

    /** A fold continuing from {@code cursor}. */
    public RingFold(String app, RingCursor cursor) {
        this.app = app;
        this.nextRingSeq = cursor.nextRingSeq();
        this.lastFrameSeq = cursor.lastFrameSeq();
        this.lastFrameHash = cursor.lastFrameHash();
        this.lastEpoch = cursor.lastEpoch();
    }

    /**
     * Examines the entry at ring position {@code ringSeq} (which must be the cursor's next position) and returns
     * the frame when it continues the history, or null for a stray.
     */
    public Frame offer(long ringSeq, byte[] entry) {
        if (ringSeq != nextRingSeq) {
            throw new IllegalArgumentException("ring fold of '" + app + "' expects position " + nextRingSeq + ", got " + ringSeq);
        }
        nextRingSeq++;
        Frame f;
        try {
            f = FrameCodec.decode(entry);
        } catch (CodecException | IllegalArgumentException e) {
            strays++;
            return null;
        }
        if (!f.app().equals(app) || f.seq() != lastFrameSeq + 1 || !Arrays.equals(f.prevHash(), lastFrameHash)
                || f.epoch() < lastEpoch) {
            strays++;
            return null;
        }
        lastFrameSeq = f.seq();
        lastFrameHash = FrameCodec.hash(entry);
        lastEpoch = f.epoch();
        return f;
    }

    /** Where the fold stands: everything offered so far is decided. */
    public RingCursor cursor() {
        return new RingCursor(nextRingSeq, lastFrameSeq, lastFrameHash, lastEpoch);
    }

    /** Strays seen by this fold (not counting those before its starting cursor). */
    public long strays() {
        return strays;
    }
}
