package io.replicode.gateway.limits;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.function.LongSupplier;

/**
 * Whether the process is close to its open-files limit, so the gateway stops accepting for a moment instead
 * of failing accept after accept. The open count is sampled at most every {@link #SAMPLE_EVERY_MS} (counting
 * a process's descriptors lists them all), and each accept since the sample counts as one more.
 * Thread-safe (the acceptor threads ask); the caller passes the time in.
 */
public final class FilesBudget {
    static final long SAMPLE_EVERY_MS = 100;

    private final long limit;
    private final long reserve;
    private final LongSupplier openFiles;
    private long sampledOpen;
    private long sampledAtMs;
    private boolean sampled;
    private long acceptedSinceSample;

    /**
     * @param limit     the process's open-files limit (Long.MAX_VALUE when unknown)
     * @param openFiles the number open now
     */
    public FilesBudget(long limit, LongSupplier openFiles) {
        this.limit = limit;
        this.openFiles = openFiles;
        // Headroom for what is not an accepted socket: replay logs, snapshots, jars, the event bus, a probe.
        this.reserve = limit == Long.MAX_VALUE ? 0 : Math.max(128, limit / 10);
    }

    /** The budget of this process (com.sun.management.UnixOperatingSystemMXBean); unlimited elsewhere. */
    public static FilesBudget ofProcess() {
        // The first log line reads the time-zone file; when descriptors run out that read fails and kills the
        // thread that logs (seen: an event loop). Read it now, while descriptors are plenty.
        java.util.TimeZone.getDefault();
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix && unix.getMaxFileDescriptorCount() > 0) {
            return new FilesBudget(unix.getMaxFileDescriptorCount(), unix::getOpenFileDescriptorCount);
        }
        return new FilesBudget(Long.MAX_VALUE, () -> 0);
    }

    /** Whether one more accepted connection would eat into the reserve. */
    public synchronized boolean low(long nowMs) {
        if (limit == Long.MAX_VALUE) {
            return false;
        }
        if (!sampled || nowMs - sampledAtMs >= SAMPLE_EVERY_MS || nowMs < sampledAtMs) {
            sampled = true;
            sampledOpen = openFiles.getAsLong();
            sampledAtMs = nowMs;
            acceptedSinceSample = 0;
        }
        return sampledOpen + acceptedSinceSample + reserve >= limit;
    }

    /** A connection was accepted (one more descriptor until the next sample). */
    public synchronized void accepted() {
        acceptedSinceSample++;
    }

    /** The process's open-files limit, or Long.MAX_VALUE when unknown. */
    public long limit() {
        return limit;
    }

    /** Open descriptors at the last sample. */
    public synchronized long lastOpen() {
        return sampledOpen;
    }
}
