package io.replicode.launcher;

import io.replicode.node.UserError;
import io.replicode.cluster.ClusterSettings;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.node.ClusterNode;
import io.replicode.replica.module.Engine;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code replicode node --cluster}: one member of a Replicode cluster (Raft on Apache Ratis, Hazelcast membership). */
@Command(name = "node",
        description = {"Runs one member of a Replicode cluster: each app's frames are cut by the leader of its Raft group",
                "(Apache Ratis), committed once a majority of members has them on disk, and applied by replicas on every",
                "member; Hazelcast carries membership and the event bus. Serves until Ctrl-C; a member that restarts,",
                "or a whole cluster, continues from its Raft log. Each member also listens on its cluster port + 1000 (Raft)."},
        sortOptions = false,
        footer = {"",
                "Three members on one machine:",
                "  ./replicode node --cluster --cluster-port 5701 --cluster-members 127.0.0.1:5701,127.0.0.1:5702,127.0.0.1:5703 \\",
                "      --port-offset 0 --data ./data/m0",
                "  (the same with 5702, --port-offset 100, ./data/m1 and 5703, --port-offset 200, ./data/m2)"})
final class NodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--cluster", description = "Join (or form) a cluster. Required: a single node is 'replicode run'.")
    boolean cluster;

    @Option(names = "--roles", paramLabel = "ROLE[,ROLE]", split = ",",
            description = "What this member does: gateway, sequencer, replica (default: all three).")
    List<String> roles = List.of("gateway", "sequencer", "replica");

    @Option(names = "--cluster-host", paramLabel = "HOST", description = "IPv4 address (or a name resolving to one) this member binds and announces (default: ${DEFAULT-VALUE}).")
    String clusterHost = "127.0.0.1";

    @Option(names = "--cluster-port", paramLabel = "PORT", description = "Hazelcast port of this member (default: ${DEFAULT-VALUE}).")
    int clusterPort = 5701;

    @Option(names = "--cluster-members", paramLabel = "HOST:PORT[,HOST:PORT]",
            description = "Every member, this one included, the same list on all members (default: this member alone).")
    String clusterMembers;

    @Option(names = "--cluster-min-size", paramLabel = "N",
            description = "Members a gateway must see to take new clients (default: a majority of the listed members).")
    Integer minSize;

    @Option(names = "--cluster-config", paramLabel = "FILE", description = "Hazelcast XML to start from instead of conf/cluster.xml.")
    Path clusterConfig;

    @Option(names = "--port-offset", paramLabel = "N",
            description = "Added to every client-facing port (HTTP, and each app's TCP ports), so members can share a machine.")
    int portOffset;

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (default: ${DEFAULT-VALUE}).")
    Path config = ConfigLoader.DEFAULT_CONFIG;

    @Option(names = "--data", paramLabel = "DIR", description = "This member's data directory (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("data");

    @Option(names = "--app", paramLabel = "NAME=PATH.wasm", description = "Run this module as app NAME (repeatable).")
    List<String> apps = new ArrayList<>();

    @Option(names = "--tcp", paramLabel = "PORT=APP[:LISTENER]", description = "Serve APP's LISTENER on TCP PORT (+ offset).")
    List<String> tcp = new ArrayList<>();

    @Option(names = "--http", paramLabel = "APP[:LISTENER]", description = "Serve APP at http://HOST:PORT/APP/.")
    List<String> http = new ArrayList<>();

    @Option(names = "--replicas", paramLabel = "N", description = "Replicas per app on this member (default: 1).")
    Integer replicas;

    @Option(names = "--http-port", paramLabel = "PORT", description = "The gateway's HTTP port before the offset (default: the config's, 8080).")
    Integer httpPort;

    @Option(names = "--engine", paramLabel = "compiler|interpreter", description = "How guests run (default: compiler).")
    Engine engine = Engine.COMPILER;

    @Option(names = "--host", paramLabel = "ADDRESS", description = "Address the client-facing ports listen on (default: ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @picocli.CommandLine.Mixin
    OperationsOptions operations = new OperationsOptions();

    @Option(names = "--cluster-tls-cert", paramLabel = "FILE.pem",
            description = "TLS between members (event bus and Raft, mutual): this member's PEM certificate, naming its"
                    + " address (subjectAltName IP:...); with --cluster-tls-key.")
    java.nio.file.Path clusterTlsCert;

    @Option(names = "--cluster-tls-key", paramLabel = "FILE.pem", description = "Its PEM private key (PKCS#8).")
    java.nio.file.Path clusterTlsKey;

    @Option(names = "--cluster-ca", paramLabel = "FILE.pem",
            description = "The certificate(s) members trust (default: --cluster-tls-cert itself, one certificate shared).")
    java.nio.file.Path clusterCa;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws InterruptedException {
        if (!cluster) {
            throw new UserError("replicode node runs a cluster member and needs --cluster",
                    "add --cluster (with --cluster-members), or run a single node with ./replicode run");
        }
        NodeConfig node = nodeConfig();
        PrintWriter out = Logs.writer(spec.commandLine().getOut(), LogFormat.apps(node));
        ClusterSettings settings = settings();
        ProcessLimits.report(node, ProcessLimits.Jvm.current(), out);
        Set<String> roleSet = new LinkedHashSet<>();
        for (String r : roles) {
            roleSet.add(r.strip().toLowerCase(java.util.Locale.ROOT));
        }
        RunCommand.createDataDir(node.dataDir());
        RunCommand.StopHook stop = RunCommand.StopHook.install(out, "replicode: leaving the cluster");
        ClusterNode running = ClusterNode.start(node, new ClusterNode.Options(roleSet, settings,
                operations.operations()), out);
        stop.serveUntilStopped(running::close);
        return 0;
    }

    /** The node these flags ask for (also what {@code jvm-heap node ...} sizes the heap from). */
    NodeConfig nodeConfig() {
        boolean configGiven = spec.commandLine().getParseResult().hasMatchedOption("--config");
        return withPortOffset(ConfigLoader.load(new ConfigLoader.Flags(config, configGiven, host, engine, data, apps, tcp,
                http, replicas == null ? 1 : replicas, httpPort)), portOffset);
    }

    private ClusterSettings settings() {
        try {
            String self = ClusterSettings.resolveHost(clusterHost);
            List<String> members = clusterMembers == null ? List.of(self + ":" + clusterPort)
                    : ClusterSettings.parseMembers(clusterMembers);
            ClusterSettings s = ClusterSettings.of(self, clusterPort, members);
            if (minSize != null) {
                s = s.withMinimumClusterSize(minSize);
            }
            if (clusterConfig != null) {
                s = s.withBaseConfig(clusterConfig);
            }
            if (clusterTlsCert != null || clusterTlsKey != null) {
                if (clusterTlsCert == null || clusterTlsKey == null) {
                    throw new UserError("TLS between members needs a certificate and its key",
                            "give --cluster-tls-cert FILE.pem and --cluster-tls-key FILE.pem together");
                }
                // The same checks as the client-facing certificate's: a bad file is said now, not as a failed join.
                io.replicode.node.config.Operations.NONE.withTls(clusterTlsCert, clusterTlsKey);
                s = s.withTls(new ClusterSettings.Tls(clusterTlsCert, clusterTlsKey, clusterCa != null ? clusterCa : clusterTlsCert));
            }
            return s;
        } catch (io.replicode.FixableException e) {
            throw new UserError(e.what(), e.fixOr("see 'replicode node --help'"));
        }
    }

    /** {@code node} with {@code offset} added to the HTTP port and every app's TCP ports (0, "any free port", stays 0). */
    static NodeConfig withPortOffset(NodeConfig node, int offset) {
        if (offset == 0) {
            return node;
        }
        if (offset < 0 || offset > 60_000) {
            throw new UserError("--port-offset " + offset + " is outside 0..60000", "give a small offset such as 100");
        }
        List<AppConfig> apps = new ArrayList<>();
        for (AppConfig a : node.apps()) {
            List<TcpBinding> tcp = new ArrayList<>();
            for (TcpBinding b : a.tcp()) {
                tcp.add(new TcpBinding(shift(b.port(), offset, "app '" + a.name() + "' TCP port"), b.listener()));
            }
            apps.add(a.withTcp(tcp));
        }
        return new NodeConfig(node.host(), node.engine(), node.dataDir(), node.batching(), apps,
                shift(node.httpPort(), offset, "HTTP port"), node.replicas(), node.fsync(), node.snapshotEveryFrames());
    }

    private static int shift(int port, int offset, String what) {
        if (port == 0) {
            return 0;
        }
        if (port + offset > 65535) {
            throw new UserError(what + " " + port + " + --port-offset " + offset + " is above 65535", "use a smaller --port-offset");
        }
        return port + offset;
    }
}
