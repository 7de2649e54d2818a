package io.replicode.launcher;

import io.replicode.node.TestGuests;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./replicode} as it starts the JVM: the -Xmx it passes and the open-files limit it gives. The script runs
 * from a copy next to a built-looking jar, with a {@code java} on the PATH that answers {@code jvm-heap} with the
 * real command (this module's classes) and otherwise prints the command line it was given instead of starting a node.
 */
class ReplicodeScriptTest {
    @TempDir
    Path tmp;

    private Path root;
    private Path calls;
    private Path config;

    @BeforeEach
    void fakeInstall() throws IOException {
        root = Files.createDirectories(tmp.resolve("repo"));
        Files.copy(Path.of("..", "replicode"), root.resolve("replicode"));
        Path target = Files.createDirectories(root.resolve("launcher/target"));
        Files.writeString(target.resolve("jvm.options"), "-Dreplicode.fake=1\n");
        Files.write(target.resolve("replicode.jar"), new byte[0]);
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        calls = tmp.resolve("java-calls.txt");
        Path java = bin.resolve("java");
        Files.writeString(java, String.join("\n",
                "#!/bin/sh",
                "echo \"$*\" >> '" + calls + "'",
                "case \" $* \" in",
                "  *' jvm-heap '*)",
                "    while [ \"$1\" != -jar ]; do shift; done; shift 2",
                "    exec '" + Path.of(System.getProperty("java.home"), "bin", "java") + "' -cp '"
                        + System.getProperty("java.class.path") + "' io.replicode.launcher.ReplicodeCommand \"$@\" ;;",
                "esac",
                "echo \"java $* nofile=$(ulimit -n)\"", ""));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        // 1024 pages (64 MiB) and no file quota: 2 x 64 MiB per replica.
        config = Files.writeString(tmp.resolve("one.json"), "{\"apps\": {\"echo\": {\"module\": \""
                + TestGuests.module("echo_server") + "\", \"tcp\": [{\"port\": 0}], \"limits\": {\"memoryPages\": 1024,"
                + " \"fsQuotaBytes\": 0}}}}");
    }

    private record Run(int exit, String out, String err) {}

    /** Runs {@code ulimits; ./replicode args...} with {@code userOpts} as REPLICODE_JVM_OPTS (null: unset). */
    private Run replicode(String ulimits, String userOpts, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", "-c", ulimits + " exec bash \"$0\" \"$@\"",
                root.resolve("replicode").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        var env = pb.environment();
        env.put("PATH", tmp.resolve("bin") + ":" + env.get("PATH"));
        for (String name : List.of("JAVA_OPTS", "REPLICODE_JVM_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")) {
            env.remove(name);
        }
        if (userOpts != null) {
            env.put("REPLICODE_JVM_OPTS", userOpts);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the script finished");
        return new Run(p.exitValue(), out, err);
    }

    private long probes() throws IOException {
        return Files.exists(calls) ? Files.readAllLines(calls).stream().filter(l -> l.contains(" jvm-heap ")).count() : 0;
    }

    @Test
    void run_gets_the_heap_bound_of_its_apps_and_asks_once_for_the_same_arguments() throws Exception {
        Run r = replicode("", null, "run", "--config", config.toString(), "--replicas", "2");
        assertEquals(0, r.exit, r.err);
        // 2 replicas x 128 MiB + 512 MiB base, after the build's options and before the jar.
        assertTrue(r.out.startsWith("java -Dreplicode.fake=1 -Xmx768m -jar "), r.out);
        assertEquals(1, probes());

        Run again = replicode("", null, "run", "--config", config.toString(), "--replicas", "2");
        assertTrue(again.out.startsWith("java -Dreplicode.fake=1 -Xmx768m -jar "), again.out);
        assertEquals(1, probes(), "the same arguments, config and jar reuse the bound");

        Run three = replicode("", null, "run", "--config", config.toString(), "--replicas", "3");
        assertTrue(three.out.startsWith("java -Dreplicode.fake=1 -Xmx896m -jar "), three.out);
        assertEquals(2, probes());
    }

    @Test
    void the_users_own_heap_bound_wins_and_nothing_is_computed() throws Exception {
        Run r = replicode("", "-Xmx300m -Dx=y", "run", "--config", config.toString());
        assertTrue(r.out.startsWith("java -Dreplicode.fake=1 -Xmx300m -Dx=y -jar "), r.out);
        assertEquals(0, probes());
    }

    @Test
    void other_commands_and_config_mistakes_run_without_a_computed_bound() throws Exception {
        Run replay = replicode("", null, "replay", "verify", "--data", "d");
        assertTrue(replay.out.startsWith("java -Dreplicode.fake=1 -jar "), replay.out);
        Run help = replicode("", null, "run", "--config", config.toString(), "--help");
        assertTrue(help.out.startsWith("java -Dreplicode.fake=1 -jar "), help.out);
        assertEquals(0, probes(), "help needs no heap bound");
        Run bad = replicode("", null, "run", "--config", tmp.resolve("missing.json").toString());
        assertTrue(bad.out.startsWith("java -Dreplicode.fake=1 -jar "), "the node itself reports the mistake: " + bad.out);
        assertFalse(bad.err.contains("error"), bad.err);
    }

    @Test
    void a_low_soft_limit_is_raised_towards_the_hard_limit() throws Exception {
        long hard = hardLimit();
        Run r = replicode("ulimit -Sn 256;", "-Xmx300m", "run", "--config", config.toString());
        assertTrue(r.out.strip().endsWith("nofile=" + Math.min(hard, 65536)), r.out);
    }

    @Test
    void a_hard_limit_below_the_minimum_prints_one_line_with_a_fix() throws Exception {
        Run r = replicode("ulimit -Sn 256; ulimit -Hn 2000 2>/dev/null;", "-Xmx300m", "run", "--config", config.toString());
        assertEquals(1, r.err.lines().count(), r.err);
        assertTrue(r.err.startsWith("replicode: the open files limit is ") && r.err.contains("Fix: ulimit -n 65536")
                && r.err.contains("LimitNOFILE=65536"), r.err);
    }

    @Test
    void three_first_runs_at_the_same_moment_build_once_and_all_start() throws Exception {
        // A fresh clone: no jar yet. A stand-in mvn takes a while and "builds" it, counting its runs.
        Files.delete(root.resolve("launcher/target/replicode.jar"));
        Path builds = tmp.resolve("mvn-calls.txt");
        Path mvn = tmp.resolve("bin/mvn");
        Files.writeString(mvn, String.join("\n",
                "#!/bin/sh",
                "echo start >> '" + builds + "'",
                "sleep 2",
                "echo x > launcher/target/replicode.jar",
                "echo end >> '" + builds + "'", ""));
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<java.util.concurrent.CompletableFuture<Run>> runs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            runs.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return replicode("", "-Xmx300m", "replay", "verify", "--data", "d");
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (var f : runs) {
            Run r = f.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.exit, r.err);
            assertTrue(r.out.startsWith("java -Dreplicode.fake=1 -Xmx300m -jar "), "every member starts: " + r.out);
        }
        assertEquals(List.of("start", "end"), Files.readAllLines(builds), "one build, the others waited for it");
    }

    private static long hardLimit() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", "ulimit -Hn").start();
        String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor();
        return s.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(s);
    }
}
