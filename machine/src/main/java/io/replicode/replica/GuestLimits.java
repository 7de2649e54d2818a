package io.replicode.replica;

/**
 * Every bound a guest runs under, in one place. All of them are part of determinism: replicas of an
 * app must use the same values, or they will stop at different points.
 *
 * @param memoryPages          linear memory ceiling in 64 KiB pages; {@code memory.grow} past it returns -1
 * @param fuelPerFrame         instruction budget per frame (units: instructions counted at function
 *                             entries and loop headers, see ModuleInstrumenter)
 * @param callDepth            maximum nesting of wasm calls; deeper recursion traps with "call stack exhausted"
 * @param fsQuotaBytes         bytes of regular-file content in the virtual filesystem
 * @param fsMaxInodes          files, directories and symlinks in the virtual filesystem
 * @param maxOpenFds           open descriptors, stdio and listeners included
 * @param receiveBufferBytes   per-connection receive buffer; the gateway may not send beyond it
 * @param sendWindowBytes      initial per-connection send window; the gateway grants more as it delivers
 * @param listenBacklog        connections waiting for accept per listener; more are refused
 * @param asyncifyBufferBytes  bytes taken from the top of the C stack to hold an unwound (parked) stack
 * @param maxLogBytesPerFrame  stdout/stderr bytes kept per frame; the rest is dropped and counted
 */
public record GuestLimits(
        int memoryPages,
        long fuelPerFrame,
        int callDepth,
        long fsQuotaBytes,
        int fsMaxInodes,
        int maxOpenFds,
        int receiveBufferBytes,
        long sendWindowBytes,
        int listenBacklog,
        int asyncifyBufferBytes,
        long maxLogBytesPerFrame) {

    public static final GuestLimits DEFAULT = new GuestLimits(
            4096, 2_000_000_000L, 4000, 64L << 20, 10_000, 1024, 256 << 10, 256 << 10, 128, 16 << 10, 64 << 10);

    public GuestLimits {
        require(memoryPages >= 1 && memoryPages <= 32767, "memoryPages", memoryPages, "1..32767");
        require(fuelPerFrame >= 1, "fuelPerFrame", fuelPerFrame, ">= 1");
        require(callDepth >= 16 && callDepth <= 50_000, "callDepth", callDepth, "16..50000");
        require(fsQuotaBytes >= 0, "fsQuotaBytes", fsQuotaBytes, ">= 0");
        require(fsMaxInodes >= 1, "fsMaxInodes", fsMaxInodes, ">= 1");
        require(maxOpenFds >= 8 && maxOpenFds <= 65536, "maxOpenFds", maxOpenFds, "8..65536");
        require(receiveBufferBytes >= 1, "receiveBufferBytes", receiveBufferBytes, ">= 1");
        require(sendWindowBytes >= 1, "sendWindowBytes", sendWindowBytes, ">= 1");
        require(listenBacklog >= 1, "listenBacklog", listenBacklog, ">= 1");
        require(asyncifyBufferBytes >= 1024 && asyncifyBufferBytes % 16 == 0, "asyncifyBufferBytes",
                asyncifyBufferBytes, ">= 1024 and a multiple of 16");
        require(maxLogBytesPerFrame >= 0, "maxLogBytesPerFrame", maxLogBytesPerFrame, ">= 0");
    }

    private static void require(boolean ok, String name, long value, String range) {
        if (!ok) {
            throw new io.replicode.FixableException("limit " + name + " = " + value + " is out of range", "use " + range);
        }
    }

    public GuestLimits withFuelPerFrame(long fuel) {
        return new GuestLimits(memoryPages, fuel, callDepth, fsQuotaBytes, fsMaxInodes, maxOpenFds, receiveBufferBytes,
                sendWindowBytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }

    public GuestLimits withMemoryPages(int pages) {
        return new GuestLimits(pages, fuelPerFrame, callDepth, fsQuotaBytes, fsMaxInodes, maxOpenFds, receiveBufferBytes,
                sendWindowBytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }

    public GuestLimits withCallDepth(int depth) {
        return new GuestLimits(memoryPages, fuelPerFrame, depth, fsQuotaBytes, fsMaxInodes, maxOpenFds, receiveBufferBytes,
                sendWindowBytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }

    public GuestLimits withFsQuotaBytes(long bytes) {
        return new GuestLimits(memoryPages, fuelPerFrame, callDepth, bytes, fsMaxInodes, maxOpenFds, receiveBufferBytes,
                sendWindowBytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }

    public GuestLimits withMaxOpenFds(int fds) {
        return new GuestLimits(memoryPages, fuelPerFrame, callDepth, fsQuotaBytes, fsMaxInodes, fds, receiveBufferBytes,
                sendWindowBytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }

    public GuestLimits withSendWindowBytes(long bytes) {
        return new GuestLimits(memoryPages, fuelPerFrame, callDepth, fsQuotaBytes, fsMaxInodes, maxOpenFds, receiveBufferBytes,
                bytes, listenBacklog, asyncifyBufferBytes, maxLogBytesPerFrame);
    }
}
