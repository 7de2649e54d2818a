package io.replicode.cluster;

/**
 * Whether a member's replicas are so far behind the other members' that the others' replicas should answer its
 * clients too, with hysteresis: behind from more than {@link #BEHIND_FRAMES}, or at once when the member knows it
 * missed frames (merged back after a split, restarted with history); caught up again within {@link #CAUGHT_UP_FRAMES},
 * or when no other member has reported its progress for {@link #NO_REPORTS_MS} while this member could hear reports.
 * Pure; time is an argument. Single-threaded (the member's periodic check).
 */
public final class CatchUpWatch {
    /**
     * Frames behind from which a member asks the others' replicas for help. High enough that a follower lagging
     * under load does not tip into it (the extra outputs would cost it more): the cases it is for (a merge, a
     * restart) are marked at once and leave thousands of frames to replay.
     */
    public static final long BEHIND_FRAMES = 1_000;
    /** Frames behind within which a member's replicas serve its clients alone again. */
    public static final long CAUGHT_UP_FRAMES = 100;
    /** How long a member that may be behind waits for the others' reports before it serves its clients alone again. */
    public static final long NO_REPORTS_MS = 10_000;

    /** What a look changed. */
    public enum Change { NONE, BEHIND, CAUGHT_UP, NO_REPORTS }

    private boolean behind;
    private long sinceMs;

    public boolean behind() {
        return behind;
    }

    /** The member knows its replicas missed frames; returns whether that is news. */
    public boolean markBehind(long nowMs) {
        sinceMs = nowMs;
        boolean was = behind;
        behind = true;
        return !was;
    }

    /**
     * One look at {@code nowMs}: {@code lag} frames behind the highest frame another member reported (negative: no
     * report heard), {@code listening} whether this member's replicas run and hear reports yet.
     */
    public Change observe(long lag, boolean listening, long nowMs) {
        if (!listening) {
            // Still starting: the wait for the others' reports begins once this member can hear them.
            sinceMs = nowMs;
            return Change.NONE;
        }
        if (!behind && lag > BEHIND_FRAMES) {
            markBehind(nowMs);
            return Change.BEHIND;
        }
        if (behind && lag >= 0 && lag <= CAUGHT_UP_FRAMES) {
            behind = false;
            return Change.CAUGHT_UP;
        }
        if (behind && lag < 0 && nowMs - sinceMs > NO_REPORTS_MS) {
            behind = false;
            return Change.NO_REPORTS;
        }
        return Change.NONE;
    }
}
