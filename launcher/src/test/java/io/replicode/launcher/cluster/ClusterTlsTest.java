package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members with TLS between them ({@code --cluster-tls-cert}, {@code --cluster-tls-key}: the Vert.x event bus and
 * Raft's gRPC, both mutual): writers through every member lose nothing, each member says so at start, and the Raft
 * port answers a TLS handshake with the members' certificate.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ClusterTlsTest {
    @TempDir
    Path dir;

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        return out;
    }

    @Test
    void members_speak_tls_to_each_other_and_lose_no_acknowledged_write() throws Exception {
        assumeTrue(new ProcessBuilder("sh", "-c", "command -v openssl").start().waitFor() == 0, "needs openssl");
        Path cert = dir.resolve("member.pem");
        Path key = dir.resolve("member-key.pem");
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=replicode-member",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key.toString(), "-out", cert.toString());
        assertTrue(Files.size(cert) > 0);
        try (TestCluster cluster = TestCluster.start(dir, 3, 0, new JsonObject().put("snapshotEveryFrames", 200),
                m -> m.extraArgs.addAll(List.of("--cluster-tls-cert", cert.toString(), "--cluster-tls-key", key.toString())))) {
            for (Member m : cluster.voters()) {
                assertTrue(Files.readString(m.output).contains("TLS between members"), m.tail());
            }
            TestCluster.Writers writers = cluster.writers("tls", cluster.voters());
            try (writers) {
                writers.awaitAcks(300, 90, "writes through members that speak TLS to each other");
            }
            cluster.assertNothingLost(writers);
            Member first = cluster.member(0);
            String handshake = run("openssl", "s_client", "-connect", "127.0.0.1:" + (first.clusterPort + 1000),
                    "-CAfile", cert.toString(), "-cert", cert.toString(), "-key", key.toString());
            assertTrue(handshake.contains("CN = replicode-member") && handshake.contains("Verify return code: 0 (ok)"),
                    handshake);
        }
    }
}
