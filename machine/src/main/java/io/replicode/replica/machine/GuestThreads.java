package io.replicode.replica.machine;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads that run guest code, each with a large fixed stack. Chicory's engines recurse on the JVM
 * stack, so guests run on threads whose stack is far deeper than any allowed call depth: the
 * instrumented depth counter, not {@code -Xss}, decides where recursion fails.
 */
public final class GuestThreads {
    /** Stack reserved per guest thread; only the touched part is committed by the OS. */
    public static final long STACK_BYTES = 1L << 30;

    private static final ThreadFactory FACTORY = new ThreadFactory() {
        private final AtomicInteger next = new AtomicInteger();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new GuestThread(r, "replicode-guest-" + next.incrementAndGet());
            t.setDaemon(true);
            return t;
        }
    };

    private static final ExecutorService POOL = Executors.newCachedThreadPool(FACTORY);

    private GuestThreads() {}

    /** A thread with a guest-sized stack. */
    static final class GuestThread extends Thread {
        GuestThread(Runnable r, String name) {
            super(null, r, name, STACK_BYTES);
        }
    }

    /** A dedicated guest thread, for modules that block inside host calls. */
    static Thread dedicated(Runnable body, String name) {
        Thread t = new GuestThread(body, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * A single-thread executor whose thread is a guest thread. An owner that drives its machines from
     * it (a replica, the local node) runs {@link GuestMachine#apply} inline, without the hand-over to
     * another thread that a call from an ordinary thread costs (tens of microseconds per frame, see
     * docs/benchmarks.md).
     */
    public static ExecutorService newSingleThreadExecutor(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new GuestThread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code task} on a guest thread: inline when already on one, otherwise handed over and awaited. */
    public static <T> T call(Callable<T> task) {
        if (Thread.currentThread() instanceof GuestThread) {
            try {
                return task.call();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Future<T> f = POOL.submit(task);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the guest ran", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error er) {
                throw er;
            }
            throw new IllegalStateException(c);
        }
    }
}
