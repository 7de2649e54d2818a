package io.replicode.launcher.local;

import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects one app's ingress events and cuts them into frames: seq from 1 without gaps, frame time never
 * decreasing, at most {@code maxEventsPerFrame} events each. When to cut is the caller's decision; the
 * caller also passes the time and the entropy in, so tests drive it step by step.
 *
 * <p>This is the local stand-in for the sequencer: no log, no publication, one epoch.
 */
final class FrameBatcher {
    static final long EPOCH = 1;

    private final String app;
    private final int maxEventsPerFrame;
    private final ArrayDeque<IngressEvent> events = new ArrayDeque<>();
    private long nextSeq = 1;
    private long lastTimeNs;

    FrameBatcher(String app, int maxEventsPerFrame, long genesisTimeNs) {
        if (maxEventsPerFrame < 1) {
            throw new IllegalArgumentException("maxEventsPerFrame must be >= 1, got " + maxEventsPerFrame);
        }
        this.app = app;
        this.maxEventsPerFrame = maxEventsPerFrame;
        this.lastTimeNs = genesisTimeNs;
    }

    void add(IngressEvent event) {
        events.addLast(event);
    }

    boolean isEmpty() {
        return events.isEmpty();
    }

    /** Whether a whole frame's worth of events is waiting. */
    boolean isFull() {
        return events.size() >= maxEventsPerFrame;
    }

    /** Time of the last frame cut (genesis time before the first). */
    long lastTimeNs() {
        return lastTimeNs;
    }

    /**
     * The next frame, with the oldest waiting events (possibly none: a tick). Its time is {@code nowNs},
     * or the previous frame's time if the clock went back.
     */
    Frame cut(long nowNs, byte[] entropy) {
        int n = Math.min(events.size(), maxEventsPerFrame);
        List<IngressEvent> taken = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            taken.add(events.pollFirst());
        }
        lastTimeNs = Math.max(lastTimeNs, nowNs);
        return new Frame(app, EPOCH, nextSeq++, lastTimeNs, entropy, taken);
    }
}
