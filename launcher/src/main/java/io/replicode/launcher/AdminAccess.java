package io.replicode.launcher;

import io.replicode.node.config.Operations;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The admin token a command sends to a node: from {@code --admin-token-file}, else {@code REPLICODE_ADMIN_TOKEN}. */
final class AdminAccess {
    @Option(names = "--admin-token-file", paramLabel = "FILE",
            description = "A file whose first line is the node's admin token (default: the REPLICODE_ADMIN_TOKEN variable).")
    Path tokenFile;

    @Option(names = "--cacert", paramLabel = "FILE.pem",
            description = "Trust this PEM certificate (e.g. the node's own --tls-cert) for an https:// --node.")
    Path caCert;

    /** A client of the node at {@code node} with this access. */
    AdminClient client(String node) {
        return new AdminClient(node, token(), caCert);
    }

    /** The token to send, or null. */
    String token() {
        return Operations.of(tokenFile, System.getenv()).adminToken();
    }
}
