package io.replicode.gateway.limits;

/**
 * When a request body has taken too long: {@code timeoutMs} after it started, plus one second per
 * {@code minBytesPerSecond} bytes received (as Apache's mod_reqtimeout {@code body=20,MinRate=500}), plus
 * the time the gateway itself paused reading. A trickle of a byte every few seconds runs out; a slow but
 * steady upload does not. Pure: the caller passes the time in.
 */
public final class BodyDeadline {
    private final long timeoutMs;
    private final long minBytesPerSecond;
    private final long startMs;
    private long received;
    private long pausedMs;
    private long pausedSinceMs = -1;

    public BodyDeadline(long timeoutMs, long minBytesPerSecond, long nowMs) {
        this.timeoutMs = timeoutMs;
        this.minBytesPerSecond = minBytesPerSecond;
        this.startMs = nowMs;
    }

    public void received(long bytes) {
        received += bytes;
    }

    /** The gateway stopped ({@code true}) or resumed reading the body; paused time is not the client's. */
    public void paused(boolean paused, long nowMs) {
        if (paused && pausedSinceMs < 0) {
            pausedSinceMs = nowMs;
        } else if (!paused && pausedSinceMs >= 0) {
            pausedMs += nowMs - pausedSinceMs;
            pausedSinceMs = -1;
        }
    }

    /** When the body runs out of time if nothing more arrives and reading is not paused. */
    public long deadlineMs(long nowMs) {
        long paused = pausedMs + (pausedSinceMs >= 0 ? nowMs - pausedSinceMs : 0);
        long earnedMs = received / minBytesPerSecond * 1000 + received % minBytesPerSecond * 1000 / minBytesPerSecond;
        return startMs + timeoutMs + earnedMs + paused;
    }

    public boolean expired(long nowMs) {
        return pausedSinceMs < 0 && nowMs >= deadlineMs(nowMs);
    }
}
