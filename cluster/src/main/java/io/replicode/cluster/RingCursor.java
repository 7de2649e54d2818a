package io.replicode.cluster;

import io.replicode.replay.Frame;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Where a reader (or the writer) of an app's frame ring stands: the next ring position to examine and the last
 * frame accepted before it. This is the whole state of the chain rule ({@link RingFold}), so two readers with equal
 * cursors accept exactly the same frames from then on.
 *
 * <p>With a single writer, frame {@code s} sits at ring position {@code s - 1}, so {@code nextRingSeq ==
 * lastFrameSeq}; every entry the rule rejected (a stray) adds one to the difference, {@link #strays()}.
 *
 * @param nextRingSeq   ring position of the next entry to examine
 * @param lastFrameSeq  seq of the last frame accepted (0 before frame 1)
 * @param lastFrameHash hash of that frame ({@link Frame#GENESIS_HASH} before frame 1): the next frame's prevHash
 * @param lastEpoch     epoch of that frame (0 before frame 1): a later frame of a lower epoch is a stray
 */
public record RingCursor(long nextRingSeq, long lastFrameSeq, byte[] lastFrameHash, long lastEpoch) {

    /** The start of an app's history, at the start of a ring that has never wrapped. */
    public static final RingCursor GENESIS = new RingCursor(0, 0, Frame.GENESIS_HASH, 0);

    public RingCursor {
        if (nextRingSeq < 0 || lastFrameSeq < 0 || lastEpoch < 0) {
            throw new IllegalArgumentException("ring cursor fields must not be negative: next=" + nextRingSeq
                    + " lastFrameSeq=" + lastFrameSeq + " lastEpoch=" + lastEpoch);
        }
        if (lastFrameHash.length != 32) {
            throw new IllegalArgumentException("lastFrameHash must be 32 bytes, got " + lastFrameHash.length);
        }
        if (nextRingSeq < lastFrameSeq) {
            // Frame s is never earlier than ring position s - 1: rejected entries only push frames later.
            throw new IllegalArgumentException("ring cursor at position " + nextRingSeq + " cannot be past frame " + lastFrameSeq);
        }
        lastFrameHash = lastFrameHash.clone();
    }

    @Override
    public byte[] lastFrameHash() {
        return lastFrameHash.clone();
    }

    /** Entries examined so far that were not frames of the history (0 with a single writer). */
    public long strays() {
        return nextRingSeq - lastFrameSeq;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RingCursor c && c.nextRingSeq == nextRingSeq && c.lastFrameSeq == lastFrameSeq
                && c.lastEpoch == lastEpoch && Arrays.equals(c.lastFrameHash, lastFrameHash);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(nextRingSeq) * 31 + Long.hashCode(lastFrameSeq) * 17 + Arrays.hashCode(lastFrameHash);
    }

    @Override
    public String toString() {
        return "RingCursor[next=" + nextRingSeq + " after frame " + lastFrameSeq + " epoch " + lastEpoch + " hash "
                + HexFormat.of().formatHex(lastFrameHash, 0, 4) + "]";
    }
}
