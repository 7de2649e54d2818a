package io.replicode.replay;

import io.replicode.nat.Frame;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The one gate through which a committed frame enters a member's history (its {@link ReplayLog}), whether it
 * arrives live from consensus, again after a restart (Raft re-applies its log after the newest snapshot), or
 * after a snapshot install. A frame at or below the last one is a duplicate and dropped; the next frame must chain
 * to the last one's hash; anything else is a gap or a fork, which is an error that names both sides and is never
 * skipped.
 *
 * <p>Replicas then read the history from the log in order ({@code ReplicaVerticle}), the same way a restart and
 * {@code replay verify} do.
 */
public final class FrameApplier {
    /** What became of a frame. */
    public enum Outcome {
        /** Appended to the log: it is the next frame of the history. */
        APPLIED,
        /** Its seq is at or below the last frame's: the history has it already. */
        DUPLICATE
    }

    /** A frame that does not follow the history: a gap or a different history. */
    public static final class GapException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        GapException(String message) {
            super(message);
        }
    }

    private final ReplayLog log;

    public FrameApplier(ReplayLog log) {
        this.log = log;
    }

    /**
     * Appends {@code frame} (encoded as {@code bytes}) when it is the next one.
     *
     * @throws GapException when it skips frames or does not chain to the last frame's hash
     */
    public Outcome apply(Frame frame, byte[] bytes) {
        long last = log.lastSeq();
        if (frame.seq() <= last) {
            return Outcome.DUPLICATE;
        }
        if (frame.seq() != last + 1) {
            throw new GapException("app '" + frame.app() + "': frame " + frame.seq() + " arrived but the history ends at "
                    + last + " (frames " + (last + 1) + ".." + (frame.seq() - 1) + " are missing). Fix: this is a bug;"
                    + " restart the member, it rebuilds its history from its peers");
        }
        byte[] lastHash = log.lastHash();
        if (!Arrays.equals(frame.prevHash(), lastHash)) {
            throw new GapException("app '" + frame.app() + "': frame " + frame.seq() + " does not chain to frame " + last
                    + " (prevHash " + HexFormat.of().formatHex(frame.prevHash(), 0, 6) + "…, history "
                    + HexFormat.of().formatHex(lastHash, 0, 6) + "…): another history. Fix: this is a bug; remove this"
                    + " member's data directory of the app, it then joins from a peer's snapshot");
        }
        log.append(frame, bytes);
        return Outcome.APPLIED;
    }

    public ReplayLog log() {
        return log;
    }
}
