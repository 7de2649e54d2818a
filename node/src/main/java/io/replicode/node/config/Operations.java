package io.replicode.node.config;

import io.replicode.node.UserError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How a node is operated, apart from what it runs: the admin token that guards {@code /status}, the dashboard's data
 * and the admin API, whether it keeps metrics, and the certificate its ports speak TLS with.
 *
 * @param adminToken the token clients must send as {@code Authorization: Bearer <token>}, or null
 * @param metrics    whether the node records metrics and serves {@code /metrics} ({@code --no-metrics}: not, to
 *                   measure what they cost)
 * @param tlsCert    a PEM certificate (chain): HTTPS on the HTTP port and TLS on every app TCP port; null: plain
 * @param tlsKey     its PEM private key (PKCS#8 or PKCS#1); given exactly when {@code tlsCert} is
 * @param eventBusBridgePort port of the TCP event-bus bridge for services outside the JVM, or -1: none
 */
public record Operations(String adminToken, boolean metrics, Path tlsCert, Path tlsKey, int eventBusBridgePort) {
    /** The environment variable that holds the admin token. */
    public static final String TOKEN_VARIABLE = "REPLICODE_ADMIN_TOKEN";

    public static final Operations NONE = new Operations(null, true, null, null, -1);

    public Operations {
        if (adminToken != null && adminToken.isBlank()) {
            adminToken = null;
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new UserError("TLS needs both a certificate and its key (" + (tlsCert == null ? "no --tls-cert" : "no --tls-key")
                    + ")", "give --tls-cert FILE.pem and --tls-key FILE.pem together");
        }
        if (eventBusBridgePort != -1 && (eventBusBridgePort < 1 || eventBusBridgePort > 65535)) {
            throw new UserError("--eventbus-bridge-port " + eventBusBridgePort + " is outside 1..65535",
                    "give a free TCP port, e.g. --eventbus-bridge-port 7099");
        }
        if (tlsCert != null) {
            checkCertificate(tlsCert);
            checkKey(tlsKey);
        }
    }

    /** With {@code adminToken} (or none), and metrics. */
    public Operations(String adminToken) {
        this(adminToken, true, null, null, -1);
    }

    /** The same, with metrics on or off. */
    public Operations withMetrics(boolean on) {
        return new Operations(adminToken, on, tlsCert, tlsKey, eventBusBridgePort);
    }

    /** The same, speaking TLS with {@code cert} and {@code key} (both null: plain). */
    public Operations withTls(Path cert, Path key) {
        return new Operations(adminToken, metrics, cert, key, eventBusBridgePort);
    }

    /** The same, with a TCP event-bus bridge on {@code port} (null or -1: none). */
    public Operations withEventBusBridge(Integer port) {
        return new Operations(adminToken, metrics, tlsCert, tlsKey, port == null ? -1 : port);
    }

    public boolean tls() {
        return tlsCert != null;
    }

    /**
     * The token from {@code tokenFile} (when given: its first line) or else from {@code REPLICODE_ADMIN_TOKEN} in
     * {@code env}. A file that cannot be read, or holds no token, is a {@link UserError}.
     */
    public static Operations of(Path tokenFile, Map<String, String> env) {
        if (tokenFile != null) {
            try {
                String token = Files.readString(tokenFile, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
                if (token.isEmpty()) {
                    throw new UserError("--admin-token-file " + tokenFile + " holds no token",
                            "write the token on the file's first line");
                }
                return new Operations(token);
            } catch (IOException e) {
                throw new UserError("cannot read --admin-token-file " + tokenFile + ": " + e.getMessage(),
                        "give a readable file whose first line is the token");
            }
        }
        String token = env.get(TOKEN_VARIABLE);
        return new Operations(token == null ? null : token.strip());
    }

    /** A certificate that does not parse is said before anything listens, not as a failed listen. */
    private static void checkCertificate(Path cert) {
        try (InputStream in = Files.newInputStream(cert)) {
            if (java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                throw new java.security.cert.CertificateException("no certificate in it");
            }
        } catch (IOException | java.security.cert.CertificateException e) {
            throw new UserError("--tls-cert " + cert + " is not a readable PEM certificate: " + e.getMessage(),
                    "give the server's certificate (chain) in PEM, e.g. from: openssl req -x509 -newkey rsa:2048 -nodes"
                            + " -keyout key.pem -out cert.pem -subj /CN=localhost");
        }
    }

    private static void checkKey(Path key) {
        String text;
        try {
            text = Files.readString(key, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UserError("cannot read --tls-key " + key + ": " + e.getMessage(), "give a readable PEM private key");
        }
        if (!text.contains("-----BEGIN PRIVATE KEY-----") && !text.contains("-----BEGIN RSA PRIVATE KEY-----")
                && !text.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new UserError("--tls-key " + key + " holds no PEM private key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or"
                    + " EC PRIVATE KEY)", "give the certificate's unencrypted private key in PEM");
        }
    }
}
