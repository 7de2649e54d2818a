package io.replicode.node.config;

/**
 * How an app's ingress events become frames: a frame is cut at once when the guest is idle, otherwise
 * when it holds {@code maxEventsPerFrame} events or its oldest event waited {@code intervalMs}.
 *
 * @param intervalMs        longest time an event waits for a busy guest before its frame is cut
 * @param maxEventsPerFrame most events in one frame
 */
public record Batching(long intervalMs, int maxEventsPerFrame) {
    public static final Batching DEFAULT = new Batching(2, 256);

    public Batching {
        if (intervalMs < 1 || intervalMs > 10_000) {
            throw new IllegalArgumentException("batching.intervalMs = " + intervalMs + " is outside 1..10000");
        }
        if (maxEventsPerFrame < 1 || maxEventsPerFrame > 65_536) {
            throw new IllegalArgumentException("batching.maxEventsPerFrame = " + maxEventsPerFrame + " is outside 1..65536");
        }
    }
}
