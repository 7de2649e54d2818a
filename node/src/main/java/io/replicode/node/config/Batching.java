package io.replicode.node.config;

/**
 * How an app's ingress events become frames: a frame is cut at once when the guest is idle, otherwise
 * when it holds {@code maxEventsPerFrame} events or its oldest event waited {@code intervalMs}. Under load (the last
 * frame took 8 events or more), an event arriving with nothing in flight waits up to {@code lingerMicros} for three
 * quarters as many events as the last frame took.
 *
 * @param intervalMs        longest time an event waits for a busy guest before its frame is cut
 * @param maxEventsPerFrame most events in one frame
 * @param lingerMicros      longest time the first event of a frame waits for more under load (0: never)
 */
public record Batching(long intervalMs, int maxEventsPerFrame, long lingerMicros) {
    private static final long DEFAULT_LINGER_MICROS = 250;
    public static final Batching DEFAULT = new Batching(2, 256, DEFAULT_LINGER_MICROS);

    /** Batching with the default linger. */
    public Batching(long intervalMs, int maxEventsPerFrame) {
        this(intervalMs, maxEventsPerFrame, DEFAULT_LINGER_MICROS);
    }

    public Batching {
        if (intervalMs < 1 || intervalMs > 10_000) {
            throw new IllegalArgumentException("batching.intervalMs = " + intervalMs + " is outside 1..10000");
        }
        if (maxEventsPerFrame < 1 || maxEventsPerFrame > 65_536) {
            throw new IllegalArgumentException("batching.maxEventsPerFrame = " + maxEventsPerFrame + " is outside 1..65536");
        }
        if (lingerMicros < 0 || lingerMicros > 1000 * intervalMs) {
            throw new IllegalArgumentException("batching.lingerMicros = " + lingerMicros + " is outside 0.."
                    + 1000 * intervalMs + " (at most batching.intervalMs)");
        }
    }
}
