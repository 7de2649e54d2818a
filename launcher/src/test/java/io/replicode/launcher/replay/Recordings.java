package io.replicode.launcher.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.TestGuests;
import io.replicode.node.UserError;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.node.EmbeddedNode;
import io.replicode.replay.DigestLog;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Real recordings for the replay tools (a node with real apps, driven by real clients, then stopped), and the CLI. */
final class Recordings {
    /** Replicas snapshot every this many frames, so short recordings have snapshots too. */
    static final int SNAPSHOT_EVERY = 100;
    static final int REPLICAS = 3;

    private Recordings() {}

    static AppConfig kv() {
        return new AppConfig("kv", TestGuests.module("kv_server"), List.of("resp", "http", "line"),
                List.of(new TcpBinding(0, "resp"), new TcpBinding(0, "line")), GuestLimits.DEFAULT, 64, List.of(), Map.of(),
                AppConfig.DEFAULT_PREOPENS, "http");
    }

    static AppConfig image() {
        return new AppConfig("image", TestGuests.module("image_server"), List.of("http", "files"),
                List.of(new TcpBinding(0, "files")), GuestLimits.DEFAULT, 16, List.of(), Map.of(), AppConfig.DEFAULT_PREOPENS,
                "http");
    }

    static AppConfig echo() {
        return new AppConfig("echo", TestGuests.module("echo_server"), List.of("main"), List.of(new TcpBinding(0, "main")),
                GuestLimits.DEFAULT, 16);
    }

    /** Starts a node on ephemeral ports with the given apps, fsync always, snapshots every {@link #SNAPSHOT_EVERY}. */
    static EmbeddedNode start(Path data, AppConfig... apps) {
        return EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, data, Batching.DEFAULT, List.of(apps), 0,
                REPLICAS, ReplayLog.FsyncPolicy.ALWAYS, SNAPSHOT_EVERY), new PrintWriter(new StringWriter(), true));
    }

    static int port(EmbeddedNode node, String app, String listener) {
        return node.tcpEndpoints().stream().filter(e -> e.app().equals(app) && e.listener().equals(listener)).findFirst()
                .orElseThrow(() -> new AssertionError("no tcp port for " + app + ":" + listener)).port();
    }

    /**
     * Waits until every replica of {@code app} recorded the same last frame twice in a row: replicas apply frames
     * a little after the client got its reply from the fastest one, and a node closed before they finish leaves
     * digest logs shorter than the log.
     */
    static void awaitDigests(Path data, String app) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String previous = "";
        while (System.nanoTime() < deadline) {
            List<Long> last = new ArrayList<>();
            for (int r = 1; r <= REPLICAS; r++) {
                Path f = data.resolve(app).resolve("replica-" + r).resolve("digests.log");
                List<DigestLog.FrameDigest> all = Files.exists(f) ? DigestLog.readFile(f, 0, Integer.MAX_VALUE) : List.of();
                last.add(all.isEmpty() ? 0 : all.get(all.size() - 1).seq());
            }
            String now = last.toString();
            if (last.stream().distinct().count() == 1 && last.get(0) > 0 && now.equals(previous)) {
                return;
            }
            previous = now;
            Thread.sleep(100);
        }
        throw new AssertionError("the replicas of '" + app + "' did not settle on one last frame: " + previous);
    }

    /** Copies {@code <data>/<app>} into a fresh data directory under {@code dir}, for a test that damages it. */
    static Path copy(Path data, String app, Path dir) {
        Path to = dir.resolve("data");
        Path from = data.resolve(app);
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(app).resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return to;
    }

    /** What a run of the command line printed, and its exit status. */
    record Result(int exit, String out, String err) {
        Result assertExit(int expected) {
            assertEquals(expected, exit, "exit status; out:\n" + out + "\nerr:\n" + err);
            return this;
        }

        Result assertOut(String... contains) {
            for (String s : contains) {
                assertTrue(out.contains(s), "expected '" + s + "' in:\n" + out + "\nerr:\n" + err);
            }
            return this;
        }

        /** Exit 2, "error: ..." and "Fix: ...", the given words, and no stack trace. */
        Result assertUserError(String... contains) {
            assertEquals(UserError.EXIT_CODE, exit, "out:\n" + out + "\nerr:\n" + err);
            assertTrue(err.startsWith("error: "), err);
            assertTrue(err.contains(System.lineSeparator() + "Fix: "), err);
            for (String s : contains) {
                assertTrue(err.contains(s), "expected '" + s + "' in: " + err);
            }
            assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
            return this;
        }
    }

    /** Runs {@code replicode ARGS} in this JVM, as RunCommandTest does. */
    static Result replicode(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = ReplicodeCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }
}
