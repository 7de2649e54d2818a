package io.replicode.launcher;

import io.replicode.node.config.AppConfig;
import io.replicode.node.config.NodeConfig;
import io.replicode.replica.GuestLimits;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the process needs from the machine for the apps it runs: the JVM heap bound their limits imply and the
 * open files their connections need, and the start lines that compare both with what the JVM got.
 *
 * <p>{@code ./replicode} asks for the heap bound first ({@code replicode jvm-heap run ...}) and starts the node's
 * JVM with it, unless the user gave an -Xmx of their own.
 */
public final class ProcessLimits {
    static final long MIB = 1L << 20;
    static final long PAGE_BYTES = 64L << 10;
    /** The node's own heap besides the guests: gateway buffers, replay log, Vert.x, Hazelcast. */
    static final long BASE_HEAP_BYTES = 512 * MIB;
    /** Descriptors besides client connections: jars, log segments and snapshots, listeners, cluster sockets. */
    static final long BASE_OPEN_FILES = 1024;
    /** What {@code ./replicode} raises the soft limit to when the hard limit allows; the Fix suggests it too. */
    static final long WANTED_OPEN_FILES = 65536;

    private static final Pattern HEAP_OPTION = Pattern.compile("-(?:Xmx|XX:MaxHeapSize=)(\\d+)([kKmMgGtT]?)");

    private ProcessLimits() {}

    /** One app's share of the heap: {@code replicas} replicas of {@code perReplicaBytes} each. */
    public record AppHeap(String app, int replicas, long perReplicaBytes) {
        long bytes() {
            return replicas * perReplicaBytes;
        }
    }

    /** The heap bound of a node: every app's replicas plus the node's base, in whole MiB. */
    public record Heap(List<AppHeap> apps, long baseBytes) {
        public Heap {
            apps = List.copyOf(apps);
        }

        public long bytes() {
            return baseBytes + apps.stream().mapToLong(AppHeap::bytes).sum();
        }

        /** The JVM option, e.g. {@code -Xmx7040m}. */
        public String xmx() {
            return "-Xmx" + bytes() / MIB + "m";
        }

        /** How the bound is made up, e.g. {@code kv 3 x 640 MiB, image 3 x 1536 MiB, base 512 MiB}. */
        public String parts() {
            List<String> parts = new ArrayList<>();
            for (AppHeap a : apps) {
                parts.add(a.app() + " " + a.replicas() + " x " + a.perReplicaBytes() / MIB + " MiB");
            }
            parts.add("base " + baseBytes / MIB + " MiB");
            return String.join(", ", parts);
        }
    }

    /** The heap {@code node}'s apps may fill: see {@link #perReplicaBytes}. */
    public static Heap heap(NodeConfig node) {
        List<AppHeap> apps = new ArrayList<>();
        for (AppConfig a : node.apps()) {
            apps.add(new AppHeap(a.name(), node.replicas(), perReplicaBytes(a.limits())));
        }
        return new Heap(apps, BASE_HEAP_BYTES);
    }

    /**
     * One replica at its limits: linear memory and file quota, and as much again for a snapshot, whose raw
     * body holds both while it is encoded or restored (replicas snapshot at the same frame, so all at once).
     * Rounded up to whole MiB.
     */
    static long perReplicaBytes(GuestLimits limits) {
        long state = limits.memoryPages() * PAGE_BYTES + limits.fsQuotaBytes();
        long bytes = 2 * state;
        return (bytes + MIB - 1) / MIB * MIB;
    }

    /** Client connections the apps may hold at once, plus the node's own descriptors. */
    public static long openFilesNeeded(NodeConfig node) {
        return BASE_OPEN_FILES + node.apps().stream().mapToLong(AppConfig::maxConnections).sum();
    }

    /** What the running JVM got: its heap option as given (null: none), and the machine's limits (-1: unknown). */
    public record Jvm(String heapOption, long maxHeapBytes, long physicalBytes, long maxOpenFiles) {
        /** This JVM. */
        public static Jvm current() {
            String option = null;
            for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (HEAP_OPTION.matcher(arg).matches()) {
                    option = arg; // the last one wins, as in the JVM
                }
            }
            long physical = -1;
            long files = -1;
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                physical = os.getTotalMemorySize();
            }
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
                files = unix.getMaxFileDescriptorCount();
            }
            return new Jvm(option, Runtime.getRuntime().maxMemory(), physical, files);
        }
    }

    /** Prints the heap and open-files lines for {@code node} running in {@code jvm}, with a warning and Fix where short. */
    public static void report(NodeConfig node, Jvm jvm, PrintWriter out) {
        for (String line : lines(node, jvm)) {
            out.println(line);
        }
        out.flush();
    }

    static List<String> lines(NodeConfig node, Jvm jvm) {
        List<String> lines = new ArrayList<>();
        Heap heap = heap(node);
        String wanted = heap.xmx() + " (" + heap.parts() + ")";
        OptionalLong given = jvm.heapOption() == null ? OptionalLong.empty() : parseHeapOption(jvm.heapOption());
        if (given.isPresent() && given.getAsLong() == heap.bytes()) {
            lines.add("heap: " + wanted);
        } else if (given.isPresent()) {
            lines.add("heap: " + jvm.heapOption() + " from the JVM options; the apps' limits ask for " + wanted);
            if (given.getAsLong() < heap.bytes()) {
                lines.add("warning: the heap bound " + jvm.heapOption() + " is below the " + heap.xmx() + " the apps' limits"
                        + " ask for: guests at their limits can stop the node with OutOfMemoryError. Fix: raise -Xmx in"
                        + " REPLICODE_JVM_OPTS, or lower --replicas or the apps' limits.memoryPages and fsQuotaBytes");
            }
        } else {
            lines.add("heap: no -Xmx, the JVM's default bound is " + jvm.maxHeapBytes() / MIB + " MiB; the apps' limits ask for "
                    + wanted);
            lines.add("warning: the heap has no explicit bound. Fix: start with ./replicode, which passes " + heap.xmx()
                    + ", or add " + heap.xmx() + " to the java command");
        }
        if (jvm.physicalBytes() > 0 && heap.bytes() > jvm.physicalBytes()) {
            lines.add("warning: the heap bound " + heap.xmx() + " is above this machine's " + jvm.physicalBytes() / MIB
                    + " MiB of memory. Fix: lower --replicas, or the apps' limits.memoryPages and fsQuotaBytes in the config");
        }
        long needed = openFilesNeeded(node);
        String need = needed + " (" + connections(node) + ", base " + BASE_OPEN_FILES + ")";
        if (jvm.maxOpenFiles() < 0) {
            lines.add("open files: limit unknown on this platform; the apps need " + need);
        } else if (jvm.maxOpenFiles() < needed) {
            lines.add("open files: limit " + jvm.maxOpenFiles() + ", the apps need " + need);
            lines.add("warning: the open files limit " + jvm.maxOpenFiles() + " is below the " + needed + " the apps'"
                    + " maxConnections need: accepts fail with 'Too many open files'. Fix: ulimit -n " + WANTED_OPEN_FILES
                    + " before starting (or LimitNOFILE=" + WANTED_OPEN_FILES + " in the systemd unit), or lower maxConnections");
        } else {
            lines.add("open files: limit " + jvm.maxOpenFiles() + ", the apps need " + need);
        }
        return lines;
    }

    private static String connections(NodeConfig node) {
        List<String> parts = new ArrayList<>();
        for (AppConfig a : node.apps()) {
            parts.add(a.name() + " " + a.maxConnections());
        }
        return "connections " + String.join(" + ", parts);
    }

    /** The bytes of {@code -Xmx<size>} or {@code -XX:MaxHeapSize=<size>}; empty when it is neither. */
    static OptionalLong parseHeapOption(String option) {
        Matcher m = HEAP_OPTION.matcher(option);
        if (!m.matches()) {
            return OptionalLong.empty();
        }
        if (m.group(1).length() > 15) {
            return OptionalLong.empty();
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        return OptionalLong.of(n << shift);
    }
}
