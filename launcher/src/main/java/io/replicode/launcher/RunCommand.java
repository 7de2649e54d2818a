package io.replicode.launcher;

import io.replicode.node.UserError;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.EmbeddedNode;
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
        description = {"Runs WASI servers, each on several deterministic replicas, behind one gateway (TCP and HTTP)",
                "until Ctrl-C. Frames are logged under --data; a restart continues where it stopped."},
        sortOptions = false,
        footer = {"",
                "Examples:",
                "  ./replicode run                     apps of conf/replicode.json",
                "  ./replicode run --app probe=wasm-programs/wasm/probe.wasm --tcp 7010=probe",
                "  ./replicode run --app ledger=./my-server.wasm --tcp 9300=ledger --http ledger",
                "  ./replicode run --replicas 5         five replicas per app"})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (default: ${DEFAULT-VALUE}).")
    Path config = ConfigLoader.DEFAULT_CONFIG;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Data directory: per app its genesis, replay log and snapshots (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("data");

    @Option(names = "--app", paramLabel = "NAME=PATH.wasm",
            description = "Run this module as app NAME (repeatable). With --app, only the named apps run.")
    List<String> apps = new ArrayList<>();

    @Option(names = "--tcp", paramLabel = "PORT=APP[:LISTENER]",
            description = {"Serve APP's LISTENER on TCP PORT (repeatable; replaces the app's configured ports).",
                    "LISTENER defaults to the app's first (main if none is named before);",
                    "an app's listeners are its fds 3, 4, ... in order of mention."})
    List<String> tcp = new ArrayList<>();

    @Option(names = "--http", paramLabel = "APP[:LISTENER]",
            description = "Serve APP at http://HOST:PORT/APP/ to LISTENER (repeatable; LISTENER defaults to http).")
    List<String> http = new ArrayList<>();

    @Option(names = "--replicas", paramLabel = "N", description = "Replicas per app (default: the config's, 3).")
    Integer replicas;

    @Option(names = "--http-port", paramLabel = "PORT", description = "The gateway's HTTP port (default: the config's, 8080).")
    Integer httpPort;

    @Option(names = "--engine", paramLabel = "compiler|interpreter",
            description = "How guests run: compiled to JVM bytecode (default) or interpreted.")
    Engine engine = Engine.COMPILER;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @picocli.CommandLine.Mixin
    OperationsOptions operations = new OperationsOptions();

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws InterruptedException {
        NodeConfig node = nodeConfig();
        PrintWriter out = Logs.writer(spec.commandLine().getOut(), LogFormat.apps(node));
        ProcessLimits.report(node, ProcessLimits.Jvm.current(), out);
        createDataDir(node.dataDir());
        StopHook stop = StopHook.install(out, "replicode: stopping");
        EmbeddedNode running = EmbeddedNode.start(node, operations.operations(), out);
        stop.serveUntilStopped(running::close);
        return 0;
    }

    /** The node these flags ask for (also what {@code jvm-heap run ...} sizes the heap from). */
    NodeConfig nodeConfig() {
        boolean configGiven = spec.commandLine().getParseResult().hasMatchedOption("--config");
        return ConfigLoader.load(new ConfigLoader.Flags(config, configGiven, host, engine, data, apps, tcp, http, replicas,
                httpPort));
    }

    /**
     * What Ctrl-C and SIGTERM do: installed before the node starts (a stop asked while it starts must not find no hook:
     * the JVM then refuses to add one, and the node is not closed), it closes the node once one runs.
     */
    static final class StopHook {
        private final PrintWriter out;
        private volatile Runnable close;
        private final CountDownLatch stopped = new CountDownLatch(1);

        private StopHook(PrintWriter out) {
            this.out = out;
        }

        static StopHook install(PrintWriter out, String stopping) {
            StopHook hook = new StopHook(out);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                out.println(stopping);
                out.flush();
                Runnable c = hook.close;
                if (c != null) {
                    c.run();
                } else {
                    out.println("replicode: asked to stop while starting; the data directory is as the log left it");
                }
                out.println("replicode: stopped");
                out.flush();
                hook.stopped.countDown();
            }, "replicode-shutdown"));
            return hook;
        }

        /** Prints "ready", then waits until the JVM is asked to stop and {@code close} ran. */
        void serveUntilStopped(Runnable close) throws InterruptedException {
            this.close = close;
            out.println("ready (Ctrl-C stops)");
            out.flush();
            stopped.await();
        }
    }

    static void createDataDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UserError("cannot create the data directory " + dir.toAbsolutePath() + ": " + e,
                    "choose a writable directory with --data DIR");
        }
    }
}
