package io.replicode.testing;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * The one poll-until of the tests: asks {@code condition} every 10 ms until it holds, and fails with what was awaited
 * once {@code timeout} has passed. For conditions that become true by themselves (a replica catching up, a connection
 * closing); a test that can wait on a future or a latch does that instead.
 */
public final class Poll {
    private static final long EVERY_MS = 10;

    private Poll() {}

    /** Polls until {@code condition} holds; an exception it throws fails the wait at once. */
    public static void until(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toMillis() + " ms: " + what);
            }
            Thread.sleep(EVERY_MS);
        }
    }
}
