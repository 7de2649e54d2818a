package io.replicode.sequencer;

import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.util.function.LongSupplier;

/**
 * What a sequencer verticle needs around its {@link FrameSequencer}, the same embedded and clustered: one Vert.x
 * timer set for the sequencer's next wake-up time (a batch interval running out, a guest's timer), and fresh
 * entropy for every frame. Single-threaded: use it on the verticle's context.
 */
public final class WakeTimer {
    /** Bytes of entropy each frame carries. */
    public static final int ENTROPY_BYTES = 16;

    private final Vertx vertx;
    private final LongSupplier clockNs;
    private final Runnable onWake;
    private final SecureRandom random = new SecureRandom();
    private long timer = -1;
    private long atNs = Long.MAX_VALUE;

    /** @param onWake called on the context when the time set last comes (the caller pumps its sequencer) */
    public WakeTimer(Vertx vertx, LongSupplier clockNs, Runnable onWake) {
        this.vertx = vertx;
        this.clockNs = clockNs;
        this.onWake = onWake;
    }

    /** Wakes the caller at {@code wakeAtNs} (a {@link FrameSequencer#wakeAtNs()}); Long.MAX_VALUE: never. */
    public void wakeAt(long wakeAtNs) {
        if (wakeAtNs == atNs) {
            return;
        }
        cancel();
        atNs = wakeAtNs;
        if (wakeAtNs == Long.MAX_VALUE) {
            return;
        }
        long delayMs = Math.max(1, (wakeAtNs - clockNs.getAsLong() + 999_999) / 1_000_000);
        timer = vertx.setTimer(delayMs, id -> {
            timer = -1;
            atNs = Long.MAX_VALUE;
            onWake.run();
        });
    }

    /** No wake-up until the next {@link #wakeAt}. */
    public void cancel() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        atNs = Long.MAX_VALUE;
    }

    /** Fresh entropy for the next frame. */
    public byte[] entropy() {
        byte[] e = new byte[ENTROPY_BYTES];
        random.nextBytes(e);
        return e;
    }
}
