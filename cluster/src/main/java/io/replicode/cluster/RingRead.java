package io.replicode.cluster;

import io.replicode.replay.Frame;
import java.util.List;

/**
 * What one read of an app's frame ring gave.
 *
 * @param frames  the frames of the history found, in seq order, without gaps
 * @param next    where to read from next time
 * @param strays  entries examined and skipped by the chain rule ({@link RingFold})
 */
public record RingRead(List<Frame> frames, RingCursor next, int strays) {
    public RingRead {
        frames = List.copyOf(frames);
    }
}
