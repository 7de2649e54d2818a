package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replicode.node.UserError;
import io.replicode.node.config.Operations;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on a real node, with real clients: a self-signed certificate made by {@code openssl}; {@code curl --cacert}
 * over HTTPS on the gateway's port, {@code redis-cli --tls --cacert} on kv's RESP port, {@code ./replicode scale} with
 * {@code --cacert}; a plain client is not served; a certificate that is not one is refused at start with a fix.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TlsTest {
    @TempDir
    Path tmp;

    /** Runs {@code cmd}; returns its exit status and what it printed (both streams). */
    private static KvNode.Run run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd));
        return new KvNode.Run(p.exitValue(), out, "");
    }

    private static boolean has(String tool) {
        try {
            return new ProcessBuilder("sh", "-c", "command -v " + tool).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void curl_and_redis_cli_speak_tls_to_the_gateway_and_a_plain_client_is_not_served() throws Exception {
        assumeTrue(has("openssl") && has("curl") && has("redis-cli"), "needs openssl, curl and redis-cli (.ci/run installs them)");
        Path cert = tmp.resolve("cert.pem");
        Path key = tmp.resolve("key.pem");
        KvNode.Run made = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key.toString(), "-out", cert.toString());
        assertEquals(0, made.exit(), made.out());
        try (KvNode node = new KvNode(tmp.resolve("data"), 3, Operations.NONE.withTls(cert, key))) {
            String https = "https://127.0.0.1:" + node.node.httpPort();
            KvNode.Run put = run("curl", "-sS", "--cacert", cert.toString(), "-X", "PUT", "--data-binary", "over tls",
                    https + "/kv/secret", "-o", "/dev/null", "-w", "%{http_code}");
            assertTrue(put.out().startsWith("2"), put.out());
            KvNode.Run get = run("curl", "-sS", "--cacert", cert.toString(), https + "/kv/secret");
            assertEquals("over tls", get.out());
            String resp = Integer.toString(node.node.tcpEndpoints().get(0).port());
            assertEquals("OK", run("redis-cli", "--tls", "--cacert", cert.toString(), "-h", "127.0.0.1", "-p", resp,
                    "SET", "k", "v").out().strip());
            assertEquals("over tls", run("redis-cli", "--tls", "--cacert", cert.toString(), "-h", "127.0.0.1", "-p", resp,
                    "GET", "secret").out().strip());
            // Plain HTTP to the HTTPS port, and a client that does not trust the certificate, get nothing.
            KvNode.Run plain = run("curl", "-sS", "-m", "5", "http://127.0.0.1:" + node.node.httpPort() + "/kv/secret");
            assertTrue(!plain.out().contains("over tls"), plain.out());
            KvNode.Run untrusted = run("curl", "-sS", "-m", "5", https + "/kv/secret");
            assertTrue(untrusted.exit() != 0 && untrusted.out().contains("certificate"), untrusted.out());
            KvNode.Run scaled = KvNode.cli("scale", "--app", "kv", "--replicas", "3", "--node", https, "--cacert", cert.toString());
            assertEquals(0, scaled.exit(), scaled.out() + scaled.err());
            assertTrue(node.output.toString().contains("kv: tls 127.0.0.1:" + resp) && node.output.toString().contains("kv: https://"),
                    node.output.toString());
        }
    }

    @Test
    void a_certificate_that_is_not_one_is_refused_with_a_fix() throws Exception {
        Path cert = Files.writeString(tmp.resolve("cert.pem"), "not a certificate");
        Path key = Files.writeString(tmp.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n");
        UserError e = org.junit.jupiter.api.Assertions.assertThrows(UserError.class, () -> Operations.NONE.withTls(cert, key));
        assertTrue(e.what().contains("is not a readable PEM certificate"), e.what());
        assertTrue(e.fix().contains("openssl req -x509"), e.fix());
        UserError half = org.junit.jupiter.api.Assertions.assertThrows(UserError.class, () -> Operations.NONE.withTls(cert, null));
        assertTrue(half.fix().contains("--tls-cert FILE.pem and --tls-key FILE.pem together"), half.fix());
    }
}
