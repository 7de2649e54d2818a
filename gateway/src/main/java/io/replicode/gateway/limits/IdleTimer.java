package io.replicode.gateway.limits;

import io.vertx.core.Vertx;

/**
 * Runs {@code onIdle} once nothing was {@link #touch touched} for {@code idleMs}. One Vert.x timer at a time,
 * re-armed lazily when it fires early, so a busy connection costs a timestamp per event, not a timer.
 * Call from the owner's event loop.
 */
public final class IdleTimer {
    private final Vertx vertx;
    private final long idleMs;
    private final Runnable onIdle;
    private long lastNs = System.nanoTime();
    private long timer;
    private boolean done;

    public IdleTimer(Vertx vertx, long idleMs, Runnable onIdle) {
        this.vertx = vertx;
        this.idleMs = idleMs;
        this.onIdle = onIdle;
        this.timer = vertx.setTimer(idleMs, t -> check());
    }

    /** Something moved: the quiet time starts again. */
    public void touch() {
        lastNs = System.nanoTime();
    }

    /** Never fires from now on. */
    public void cancel() {
        done = true;
        if (timer != -1) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }

    private void check() {
        timer = -1;
        if (done) {
            return;
        }
        long quietMs = (System.nanoTime() - lastNs) / 1_000_000;
        if (quietMs >= idleMs) {
            done = true;
            onIdle.run();
        } else {
            timer = vertx.setTimer(Math.max(1, idleMs - quietMs), t -> check());
        }
    }
}
