package io.replicode.node;

import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import java.util.List;

/**
 * Bounds an app's replay log: frames before the oldest snapshot that any replica still keeps are never
 * needed again (a restarting replica starts from one of its snapshots), so whole segments before it go.
 */
final class LogRetention {
    private LogRetention() {}

    /** Trims {@code log}; returns the number of frames removed (0 while some replica has no snapshot yet). */
    static long apply(ReplayLog log, List<SnapshotStore> replicas) {
        long keepFrom = Long.MAX_VALUE;
        for (SnapshotStore s : replicas) {
            long oldest = s.oldestSeq();
            if (oldest == 0) {
                return 0;
            }
            keepFrom = Math.min(keepFrom, oldest + 1);
        }
        return keepFrom == Long.MAX_VALUE ? 0 : log.retainFrom(keepFrom);
    }
}
