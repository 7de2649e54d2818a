package io.replicode.launcher;

import io.replicode.node.config.Operations;
import picocli.CommandLine.Option;

/** The options of {@code run} and {@code node} that say how a node is operated ({@link Operations}). */
final class OperationsOptions {
    @Option(names = "--admin-token-file", paramLabel = "FILE",
            description = "A file whose first line is the admin token that /status and the admin API then require"
                    + " (default: the REPLICODE_ADMIN_TOKEN variable; none: /status hides clients, admin from loopback only).")
    java.nio.file.Path adminTokenFile;

    @Option(names = "--log-format", paramLabel = "text|json",
            description = "How the log reads: text lines with a timestamp and a level, or one JSON object per line"
                    + " (@timestamp, level, logger, message, app, stream) (default: text).")
    LogFormat logFormat = LogFormat.TEXT;

    @Option(names = "--tls-cert", paramLabel = "FILE.pem",
            description = "A PEM certificate (chain): HTTPS on the HTTP port and TLS on every app TCP port (with --tls-key).")
    java.nio.file.Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE.pem", description = "The certificate's PEM private key.")
    java.nio.file.Path tlsKey;

    @Option(names = "--eventbus-bridge-port", paramLabel = "PORT",
            description = "Open a TCP event-bus bridge (Vert.x's framing: 4-byte length + JSON) on PORT for services that"
                    + " are not Java; it lets in requests to replicode.app.<app>.request only (default: none).")
    Integer eventBusBridgePort;

    @Option(names = "--metrics", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Record metrics and serve them at /metrics (default: on; --no-metrics turns them off).")
    boolean metrics = true;

    /** What these options ask for; the admin token from the file, or else from {@code REPLICODE_ADMIN_TOKEN}. */
    Operations operations() {
        return Operations.of(adminTokenFile, System.getenv()).withMetrics(metrics).withTls(tlsCert, tlsKey)
                .withEventBusBridge(eventBusBridgePort);
    }
}
