package io.replicode.replica.machine;

/**
 * The bounds of a {@link GuestMachine}'s supervision. They are part of determinism: every replica must use the
 * same values, so they are constants of the build, not per-node settings.
 *
 * @param crashLoopFaults       restarts after faults that rollback could not isolate, within the window, at which
 *                              the app stops instead (the count includes the fault at hand)
 * @param crashLoopWindowFrames the window of that count, in frames
 * @param maxRollbackTrials     re-runs of one faulted frame while narrowing its poisonous connections; when they are
 *                              used up, every connection not yet shown harmless is cut
 * @param checkpointEveryFrames frames after which the machine takes its own in-memory rollback checkpoint when the
 *                              replica took no snapshot meanwhile (each snapshot is a rollback point too); a
 *                              rollback replays at most this many frames
 * @param checkpointMaxBytes    input bytes between checkpoints, whichever comes first
 */
public record SupervisionPolicy(int crashLoopFaults, int crashLoopWindowFrames, int maxRollbackTrials,
                                int checkpointEveryFrames, long checkpointMaxBytes) {
    public static final SupervisionPolicy DEFAULT = new SupervisionPolicy(5, 1000, 16, 2000, 32L << 20);

    public SupervisionPolicy {
        if (crashLoopFaults < 1 || crashLoopWindowFrames < 1 || maxRollbackTrials < 1 || checkpointEveryFrames < 1
                || checkpointMaxBytes < 1) {
            throw new IllegalArgumentException("supervision bounds must be positive: " + crashLoopFaults + ", "
                    + crashLoopWindowFrames + ", " + maxRollbackTrials + ", " + checkpointEveryFrames + ", " + checkpointMaxBytes);
        }
    }
}
