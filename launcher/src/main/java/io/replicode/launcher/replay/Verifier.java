package io.replicode.launcher.replay;

import io.replicode.nat.Frame;
import io.replicode.nat.Output;
import io.replicode.replay.DigestLog;
import io.replicode.replay.DigestLog.FrameDigest;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.machine.GuestMachine;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * The differential replay: feeds recorded frames to a fresh machine and compares each frame's outputs (and,
 * where the replica recorded one, its state digest) with what the replica recorded, computed the same way
 * ({@link DigestLog#of}). With a canary machine, the same frames also go to a second module and the two
 * machines' outputs are compared. Stops at the first difference.
 */
final class Verifier {
    /** Frames read from the log at a time; frames are at most 64 KiB of events, so this bounds memory. */
    private static final int BATCH = 256;

    /** How a replay ended. */
    sealed interface Outcome permits Agreed, Diverged, CanaryDiffered {}

    /**
     * Every frame was re-executed without a difference.
     *
     * @param frames     frames re-executed
     * @param unrecorded of those, frames the replica's digest log has no record of (not compared)
     * @param quiet      with a canary, its first difference in outputs no client sees, or null
     */
    record Agreed(long frames, long unrecorded, Quiet quiet) implements Outcome {}

    /**
     * The re-execution of {@code frame} differs from the replica's record: its outputs, or (with the same
     * outputs) its state digest.
     */
    record Diverged(Frame frame, FrameDigest expected, FrameDigest produced, List<Output> outputs, long framesBefore)
            implements Outcome {
        boolean outputsDiffer() {
            return !Arrays.equals(expected.outputsDigest(), produced.outputsDigest());
        }
    }

    /**
     * The canary module's outputs for {@code frame} differ from the recorded module's in what clients see (bytes
     * sent, closes, resets, a stop). {@code quiet} is the first earlier difference in what they do not see, or null.
     */
    record CanaryDiffered(Frame frame, List<Output> recorded, List<Output> canary, long framesBefore, Quiet quiet)
            implements Outcome {}

    /**
     * The first frame where the canary's outputs differ only in what no client sees: guest logs, input windows,
     * timer requests (the recorded frames already carry the timers' effects). A new version may well log
     * differently; that alone does not fail a canary.
     */
    record Quiet(long seq, List<Output> recorded, List<Output> canary) {}

    private final ReplayLog log;
    private final GuestMachine machine;
    private final GuestMachine canary;
    private final RecordedDigests recorded;

    /**
     * @param machine  runs the recorded module, fresh or restored from a snapshot
     * @param canary   runs another module from genesis, or null
     * @param recorded the replica's digests, or null to compare only with the canary
     */
    Verifier(ReplayLog log, GuestMachine machine, GuestMachine canary, RecordedDigests recorded) {
        this.log = log;
        this.machine = machine;
        this.canary = canary;
        this.recorded = recorded;
    }

    /** Re-executes frames {@code fromSeq..toSeq}; {@code progress} hears the number of frames done so far. */
    Outcome run(long fromSeq, long toSeq, LongConsumer progress) {
        long done = 0;
        long unrecorded = 0;
        Quiet quiet = null;
        long seq = fromSeq;
        while (seq <= toSeq) {
            List<Frame> frames = log.read(seq, (int) Math.min(BATCH, toSeq - seq + 1));
            if (frames.isEmpty()) {
                throw new IllegalStateException("the log ends at frame " + (seq - 1) + ", before frame " + toSeq);
            }
            for (Frame f : frames) {
                if (f.seq() != seq) {
                    throw new IllegalStateException("the log gave frame " + f.seq() + " where " + seq + " was expected");
                }
                List<Output> outputs = machine.apply(f);
                FrameDigest expected = recorded == null ? null : recorded.at(f.seq());
                if (expected == null) {
                    unrecorded++;
                } else {
                    byte[] state = expected.stateDigest() == null ? null : machine.digest();
                    FrameDigest produced = DigestLog.of(f.seq(), outputs, state);
                    if (!expected.agreesWith(produced)) {
                        return new Diverged(f, expected, produced, outputs, done);
                    }
                }
                if (canary != null) {
                    List<Output> other = canary.apply(f);
                    if (!other.equals(outputs)) {
                        if (!clientVisible(other).equals(clientVisible(outputs))) {
                            return new CanaryDiffered(f, outputs, other, done, quiet);
                        }
                        if (quiet == null) {
                            quiet = new Quiet(f.seq(), outputs, other);
                        }
                    }
                }
                done++;
                seq++;
                progress.accept(done);
                if (seq > toSeq) {
                    break;
                }
            }
        }
        return new Agreed(done, unrecorded, quiet);
    }

    /** What reaches clients: bytes sent, closes, resets, and a stop (which resets every connection). */
    static List<Output> clientVisible(List<Output> outputs) {
        return outputs.stream().filter(o -> o instanceof Output.Send || o instanceof Output.Close
                || o instanceof Output.Reset || o instanceof Output.Stopped).toList();
    }
}
