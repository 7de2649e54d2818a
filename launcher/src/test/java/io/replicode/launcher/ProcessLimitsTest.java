package io.replicode.launcher;

import io.replicode.node.TestGuests;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.replica.module.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The heap bound and open files a node's config asks for, and the start lines that report them. */
class ProcessLimitsTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    /** conf/replicode.json as shipped, with its module paths made absolute. */
    private NodeConfig shippedConfig(Integer replicas) throws IOException {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        String json = Files.readString(repo.resolve("conf/replicode.json"))
                .replace("\"wasm-programs/", "\"" + repo.resolve("wasm-programs") + "/");
        Path config = Files.writeString(tmp.resolve("replicode.json"), json);
        return ConfigLoader.load(new ConfigLoader.Flags(config, true, "127.0.0.1", Engine.COMPILER, tmp.resolve("data"),
                List.of(), List.of(), List.of(), replicas, null));
    }

    private NodeConfig oneApp(String limits, int maxConnections) throws IOException {
        Path config = Files.writeString(tmp.resolve("one.json"), "{\"replicas\": 2, \"apps\": {\"echo\": {\"module\": \""
                + TestGuests.module("echo_server") + "\", \"tcp\": [{\"port\": 0}], \"maxConnections\": " + maxConnections
                + ", \"limits\": " + limits + "}}}");
        return ConfigLoader.load(new ConfigLoader.Flags(config, true, "127.0.0.1", Engine.COMPILER, tmp.resolve("data"),
                List.of(), List.of()));
    }

    @Test
    void shipped_config_asks_for_memory_quota_and_snapshot_of_every_replica_plus_the_base() throws IOException {
        ProcessLimits.Heap heap = ProcessLimits.heap(shippedConfig(null));
        // kv: 4096 pages (256 MiB) + the default 64 MiB quota, twice; image: 8192 pages (512 MiB) + 256 MiB, twice.
        assertEquals(List.of(new ProcessLimits.AppHeap("kv", 3, 640 * MIB), new ProcessLimits.AppHeap("image", 3, 1536 * MIB)),
                heap.apps());
        assertEquals((3 * 640 + 3 * 1536 + 512) * MIB, heap.bytes());
        assertEquals("-Xmx7040m", heap.xmx());
        assertEquals("kv 3 x 640 MiB, image 3 x 1536 MiB, base 512 MiB", heap.parts());
    }

    @Test
    void replicas_flag_scales_the_apps_share_only() throws IOException {
        assertEquals("-Xmx2688m", ProcessLimits.heap(shippedConfig(1)).xmx());
    }

    @Test
    void per_replica_share_rounds_up_to_whole_mib() throws IOException {
        NodeConfig node = oneApp("{\"memoryPages\": 17, \"fsQuotaBytes\": 1}", 10);
        // (17 x 64 KiB + 1) x 2 = 2,228,226 bytes: 3 MiB.
        assertEquals(3 * MIB, ProcessLimits.heap(node).apps().get(0).perReplicaBytes());
        assertEquals("-Xmx518m", ProcessLimits.heap(node).xmx());
    }

    @Test
    void start_line_names_the_bound_and_its_parts_when_the_jvm_got_it() throws IOException {
        List<String> lines = ProcessLimits.lines(shippedConfig(null),
                new ProcessLimits.Jvm("-Xmx7040m", 7040 * MIB, 24L << 30, 65536));
        assertEquals(List.of("heap: -Xmx7040m (kv 3 x 640 MiB, image 3 x 1536 MiB, base 512 MiB)",
                "open files: limit 65536, the apps need 2304 (connections kv 1024 + image 256, base 1024)"), lines);
    }

    @Test
    void a_smaller_heap_of_the_users_own_is_kept_with_a_warning() throws IOException {
        List<String> lines = ProcessLimits.lines(shippedConfig(null),
                new ProcessLimits.Jvm("-Xmx2g", 2048 * MIB, 24L << 30, 65536));
        assertEquals("heap: -Xmx2g from the JVM options; the apps' limits ask for -Xmx7040m (kv 3 x 640 MiB, image 3 x 1536 MiB,"
                + " base 512 MiB)", lines.get(0));
        assertTrue(lines.get(1).startsWith("warning: the heap bound -Xmx2g is below the -Xmx7040m") && lines.get(1).contains("Fix: "),
                lines.get(1));
    }

    @Test
    void no_heap_option_is_a_warning_that_names_the_bound() throws IOException {
        List<String> lines = ProcessLimits.lines(shippedConfig(null), new ProcessLimits.Jvm(null, 6000 * MIB, 24L << 30, 65536));
        assertTrue(lines.get(0).startsWith("heap: no -Xmx, the JVM's default bound is 6000 MiB; the apps' limits ask for -Xmx7040m"),
                lines.get(0));
        assertTrue(lines.get(1).contains("Fix: start with ./replicode, which passes -Xmx7040m"), lines.get(1));
    }

    @Test
    void a_bound_above_physical_memory_says_to_lower_replicas_or_memory_pages() throws IOException {
        List<String> lines = ProcessLimits.lines(shippedConfig(null), new ProcessLimits.Jvm("-Xmx7040m", 7040 * MIB, 4096 * MIB, 65536));
        assertTrue(lines.contains("warning: the heap bound -Xmx7040m is above this machine's 4096 MiB of memory. Fix: lower"
                + " --replicas, or the apps' limits.memoryPages and fsQuotaBytes in the config"), lines.toString());
    }

    @Test
    void an_open_files_limit_below_the_apps_connections_is_a_warning_with_ulimit_and_systemd_fixes() throws IOException {
        List<String> lines = ProcessLimits.lines(oneApp("{}", 5000), new ProcessLimits.Jvm("-Xmx1792m", 1792 * MIB, 24L << 30, 1024));
        assertEquals("open files: limit 1024, the apps need 6024 (connections echo 5000, base 1024)", lines.get(1));
        assertTrue(lines.get(2).startsWith("warning: the open files limit 1024 is below the 6024")
                && lines.get(2).contains("Fix: ulimit -n 65536") && lines.get(2).contains("LimitNOFILE=65536"), lines.get(2));
    }

    @Test
    void heap_options_parse_as_the_jvm_reads_them() {
        assertEquals(OptionalLong.of(7040 * MIB), ProcessLimits.parseHeapOption("-Xmx7040m"));
        assertEquals(OptionalLong.of(2L << 30), ProcessLimits.parseHeapOption("-Xmx2G"));
        assertEquals(OptionalLong.of(1L << 29), ProcessLimits.parseHeapOption("-XX:MaxHeapSize=536870912"));
        assertEquals(OptionalLong.empty(), ProcessLimits.parseHeapOption("-Xms2g"));
    }

    @Test
    void jvm_heap_command_prints_only_the_bound_of_the_run_it_is_given() throws IOException {
        Path config = tmp.resolve("one.json");
        oneApp("{\"memoryPages\": 1024, \"fsQuotaBytes\": 0}", 10);
        var out = new java.io.StringWriter();
        var cl = ReplicodeCommand.commandLine();
        cl.setOut(new java.io.PrintWriter(out, true));
        assertEquals(0, cl.execute("jvm-heap", "run", "--config", config.toString(), "--replicas", "3"));
        // 1024 pages = 64 MiB, twice, 3 replicas, + 512 MiB.
        assertEquals("-Xmx896m" + System.lineSeparator(), out.toString());
        assertEquals("-Xmx640m", JvmHeapCommand.xmx(List.of("node", "--cluster", "--config", config.toString())));
        assertEquals(null, JvmHeapCommand.xmx(List.of("run", "--help")));
        assertEquals(null, JvmHeapCommand.xmx(List.of("run", "--no-such-flag")));
        assertEquals(null, JvmHeapCommand.xmx(List.of("replay", "verify")));
    }
}
