package io.replicode.benchmarks;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import java.util.List;

/**
 * The frames a benchmark feeds its machine: consecutive seqs of epoch 1, 1 ms of frame time apart, all with the same
 * entropy; {@link #next} cycles through a fixed set of event lists so every iteration does the same work.
 */
final class FrameFeed {
    static final long FRAME_INTERVAL_NS = 1_000_000;

    private final String app;
    private final byte[] entropy;
    private long seq;
    private long timeNs;
    private List<List<IngressEvent>> cycle = List.of();
    private int nextInCycle;

    FrameFeed(String app, long startNs, byte[] entropy) {
        this.app = app;
        this.timeNs = startNs;
        this.entropy = entropy.clone();
    }

    /** The next frame, carrying {@code events}. */
    Frame frame(List<IngressEvent> events) {
        seq++;
        timeNs += FRAME_INTERVAL_NS;
        return new Frame(app, 1, seq, timeNs, entropy, events);
    }

    /** From now on {@link #next} carries these event lists, in turn. */
    void cycle(List<List<IngressEvent>> lists) {
        cycle = List.copyOf(lists);
        nextInCycle = 0;
    }

    int cycleLength() {
        return cycle.size();
    }

    /** The next frame of the cycle. */
    Frame next() {
        List<IngressEvent> events = cycle.get(nextInCycle);
        nextInCycle = (nextInCycle + 1) % cycle.size();
        return frame(events);
    }

    /** The seq of the last frame made. */
    long seq() {
        return seq;
    }
}
