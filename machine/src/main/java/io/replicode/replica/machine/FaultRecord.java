package io.replicode.replica.machine;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * What the supervisor of a {@link GuestMachine} remembers: counters for status, the last fault, and the frames of
 * recent restarts that the crash-loop bound counts. Replicated state: in the snapshot and the digest.
 */
final class FaultRecord {
    /** Longest fault text kept (a snapshot writes it as a modified-UTF-8 string). */
    private static final int MAX_FAULT_CHARS = 1000;
    /** Most restart frames a snapshot may list; far above any sane crash-loop bound. */
    private static final int MAX_RECENT = 1 << 16;

    private long faults;
    private long restarts;
    private long rollbacks;
    private long connectionsCut;
    private String lastFault = "";
    private final ArrayDeque<Long> recentRestartFaults = new ArrayDeque<>();

    void fault(String reason) {
        faults++;
        lastFault = reason.length() > MAX_FAULT_CHARS ? reason.substring(0, MAX_FAULT_CHARS) : reason;
    }

    void rolledBack(int connections) {
        rollbacks++;
        connectionsCut += connections;
    }

    void restarted() {
        restarts++;
    }

    /** Counts a fault that needs a restart at frame {@code seq}; returns how many fell within the last {@code window} frames. */
    int restartFault(long seq, int window) {
        while (!recentRestartFaults.isEmpty() && recentRestartFaults.peekFirst() <= seq - window) {
            recentRestartFaults.pollFirst();
        }
        recentRestartFaults.addLast(seq);
        return recentRestartFaults.size();
    }

    /** An operator restarted the app: the crash-loop count starts again. */
    void forgetRecentFaults() {
        recentRestartFaults.clear();
    }

    long faults() {
        return faults;
    }

    long restarts() {
        return restarts;
    }

    long rollbacks() {
        return rollbacks;
    }

    long connectionsCut() {
        return connectionsCut;
    }

    /** The last fault, or null. */
    String lastFault() {
        return lastFault.isEmpty() ? null : lastFault;
    }

    /** faults, restarts, rollbacks, connections cut (i64 each), last fault (UTF), recent count (u32) and frames (i64 each). */
    void writeTo(DataOutputStream d) throws IOException {
        d.writeLong(faults);
        d.writeLong(restarts);
        d.writeLong(rollbacks);
        d.writeLong(connectionsCut);
        d.writeUTF(lastFault);
        d.writeInt(recentRestartFaults.size());
        for (long seq : recentRestartFaults) {
            d.writeLong(seq);
        }
    }

    void readFrom(DataInputStream d) throws IOException {
        long f = d.readLong();
        long s = d.readLong();
        long r = d.readLong();
        long c = d.readLong();
        if (f < 0 || s < 0 || r < 0 || c < 0) {
            throw new IOException("snapshot fault counters are negative (" + f + ", " + s + ", " + r + ", " + c + ")");
        }
        String last = d.readUTF();
        int count = d.readInt();
        if (count < 0 || count > MAX_RECENT || (long) count * 8 > d.available()) {
            throw new IOException("snapshot lists " + Integer.toUnsignedString(count) + " recent restart frames");
        }
        ArrayDeque<Long> recent = new ArrayDeque<>();
        long previous = Long.MIN_VALUE;
        for (int i = 0; i < count; i++) {
            long seq = d.readLong();
            if (seq < previous || seq < 0) {
                throw new IOException("snapshot restart frames are not in increasing order at entry " + i);
            }
            recent.addLast(seq);
            previous = seq;
        }
        faults = f;
        restarts = s;
        rollbacks = r;
        connectionsCut = c;
        lastFault = last;
        recentRestartFaults.clear();
        recentRestartFaults.addAll(recent);
    }
}
