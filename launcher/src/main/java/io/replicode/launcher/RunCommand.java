package io.replicode.launcher;

import io.replicode.launcher.config.ConfigLoader;
import io.replicode.launcher.config.NodeConfig;
import io.replicode.launcher.local.LocalNode;
import io.replicode.replica.module.Engine;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code replicode run}: starts a local node with the configured apps and serves until stopped. */
@Command(name = "run",
        description = {"Runs WASI servers and serves them on TCP until Ctrl-C.",
                "Today: one process, one guest machine per app, no replication yet."},
        sortOptions = false,
        footer = {"",
                "Examples:",
                "  ./replicode run                     apps of conf/replicode.json (echo: 7007)",
                "  ./replicode run --app probe=wasm-programs/wasm/probe.wasm --tcp 7010=probe",
                "  ./replicode run --tcp 9000=echo     echo on port 9000 instead"})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (default: ${DEFAULT-VALUE}).")
    Path config = ConfigLoader.DEFAULT_CONFIG;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Data directory, created if missing (default: ${DEFAULT-VALUE}). Nothing is stored there yet.")
    Path data = Path.of("data");

    @Option(names = "--app", paramLabel = "NAME=PATH.wasm",
            description = "Run this module as app NAME (repeatable). With --app, only the named apps run.")
    List<String> apps = new ArrayList<>();

    @Option(names = "--tcp", paramLabel = "PORT=APP[:LISTENER]",
            description = {"Serve APP's LISTENER on TCP PORT (repeatable; replaces the app's configured ports).",
                    "LISTENER defaults to the app's first (main if none is named before);",
                    "an app's listeners are its fds 3, 4, ... in order of mention."})
    List<String> tcp = new ArrayList<>();

    @Option(names = "--engine", paramLabel = "compiler|interpreter",
            description = "How guests run: compiled to JVM bytecode (default) or interpreted.")
    Engine engine = Engine.COMPILER;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        boolean configGiven = spec.commandLine().getParseResult().hasMatchedOption("--config");
        NodeConfig node = ConfigLoader.load(new ConfigLoader.Flags(config, configGiven, host, engine, data, apps, tcp));
        createDataDir(node.dataDir());
        LocalNode running = LocalNode.start(node, out);
        out.println("data: " + node.dataDir().toAbsolutePath().normalize() + " (nothing is stored there yet)");
        out.println("ready. Try: printf 'hello\\n' | nc -q1 " + running.endpoints().get(0).host() + " "
                + running.endpoints().get(0).port() + "    (Ctrl-C stops)");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("replicode: stopping");
            out.flush();
            running.close();
            out.println("replicode: stopped");
            out.flush();
            stopped.countDown();
        }, "replicode-shutdown"));
        stopped.await();
        return 0;
    }

    private static void createDataDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UserError("cannot create the data directory " + dir.toAbsolutePath() + ": " + e,
                    "choose a writable directory with --data DIR");
        }
    }
}
