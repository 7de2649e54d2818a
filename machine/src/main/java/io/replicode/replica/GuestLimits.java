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

    // Fixed limits of the host, the same for every app: part of the determinism contract, so not configurable.

    /** A WebAssembly page. */
    public static final int WASM_PAGE_BYTES = 65536;
    /** The most bytes one {@code random_get} fills. */
    public static final int MAX_RANDOM_GET_BYTES = 1 << 26;
    /** The most subscriptions one {@code poll_oneoff} takes. */
    public static final int MAX_POLL_SUBSCRIPTIONS = 4096;
    /** The longest path or name a call takes, in bytes (Linux's PATH_MAX). */
    public static final int MAX_PATH_BYTES = 4096;
    /** The highest {@link #maxOpenFds} an app may set. */
    public static final int MAX_OPEN_FDS_CEILING = 65536;
    /** What a snapshot holds besides memory and files (globals, host, network and supervision state), at most. */
    public static final long SNAPSHOT_OVERHEAD_BYTES = 64L << 20;

    public static final GuestLimits DEFAULT = new GuestLimits(
            4096, 2_000_000_000L, 4000, 64L << 20, 10_000, 1024, 256 << 10, 256 << 10, 128, 16 << 10, 64 << 10);

    public GuestLimits {
        require(memoryPages >= 1 && memoryPages <= 32767, "memoryPages", memoryPages, "1..32767");
        require(fuelPerFrame >= 1, "fuelPerFrame", fuelPerFrame, ">= 1");
        require(callDepth >= 16 && callDepth <= 50_000, "callDepth", callDepth, "16..50000");
        require(fsQuotaBytes >= 0, "fsQuotaBytes", fsQuotaBytes, ">= 0");
        require(fsMaxInodes >= 1, "fsMaxInodes", fsMaxInodes, ">= 1");
        require(maxOpenFds >= 8 && maxOpenFds <= MAX_OPEN_FDS_CEILING, "maxOpenFds", maxOpenFds, "8.." + MAX_OPEN_FDS_CEILING);
        require(receiveBufferBytes >= 1, "receiveBufferBytes", receiveBufferBytes, ">= 1");
        require(sendWindowBytes >= 1, "sendWindowBytes", sendWindowBytes, ">= 1");
        require(listenBacklog >= 1, "listenBacklog", listenBacklog, ">= 1");
        require(asyncifyBufferBytes >= 1024 && asyncifyBufferBytes % 16 == 0, "asyncifyBufferBytes",
                asyncifyBufferBytes, ">= 1024 and a multiple of 16");
        require(maxLogBytesPerFrame >= 0, "maxLogBytesPerFrame", maxLogBytesPerFrame, ">= 0");
    }

    /**
     * The limits by name, in declaration order: how genesis.json and the config file spell them. A 32-bit limit is an
     * {@link Integer}, a 64-bit one a {@link Long}. {@link #fromNames} reads the same names back; together they are the
     * one place that lists them.
     */
    public java.util.Map<String, Number> byName() {
        java.util.Map<String, Number> m = new java.util.LinkedHashMap<>();
        m.put("memoryPages", memoryPages);
        m.put("fuelPerFrame", fuelPerFrame);
        m.put("callDepth", callDepth);
        m.put("fsQuotaBytes", fsQuotaBytes);
        m.put("fsMaxInodes", fsMaxInodes);
        m.put("maxOpenFds", maxOpenFds);
        m.put("receiveBufferBytes", receiveBufferBytes);
        m.put("sendWindowBytes", sendWindowBytes);
        m.put("listenBacklog", listenBacklog);
        m.put("asyncifyBufferBytes", asyncifyBufferBytes);
        m.put("maxLogBytesPerFrame", maxLogBytesPerFrame);
        return m;
    }

    /**
     * Limits from their names ({@link #byName}); {@code value} gives each one's value, or null when it is missing,
     * which is an {@link IllegalArgumentException} naming it. Values out of range fail as the constructor says.
     */
    public static GuestLimits fromNames(java.util.function.Function<String, Long> value) {
        java.util.function.ToLongFunction<String> l = name -> {
            Long x = value.apply(name);
            if (x == null) {
                throw new IllegalArgumentException("limits." + name + " is missing");
            }
            return x;
        };
        java.util.function.ToIntFunction<String> i = name -> {
            long x = l.applyAsLong(name);
            if (x != (int) x) {
                throw new IllegalArgumentException("limits." + name + " = " + x + " does not fit in 32 bits");
            }
            return (int) x;
        };
        return new GuestLimits(i.applyAsInt("memoryPages"), l.applyAsLong("fuelPerFrame"), i.applyAsInt("callDepth"),
                l.applyAsLong("fsQuotaBytes"), i.applyAsInt("fsMaxInodes"), i.applyAsInt("maxOpenFds"),
                i.applyAsInt("receiveBufferBytes"), l.applyAsLong("sendWindowBytes"), i.applyAsInt("listenBacklog"),
                i.applyAsInt("asyncifyBufferBytes"), l.applyAsLong("maxLogBytesPerFrame"));
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
