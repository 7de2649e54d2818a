package io.replicode.launcher;

import io.replicode.node.UserError;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A running node's HTTP API as the commands that talk to one use it ({@code restart}, {@code remove-member}): a node
 * that cannot be reached, a {@code --node} that is not a URL, and a refusal each become a {@link UserError}.
 */
final class AdminClient {
    private final String node;
    private final String base;
    private final HttpClient http;

    /** The admin token sent with every request, or null. */
    private final String token;

    /** @param node the {@code --node} URL as given, with or without a trailing slash */
    AdminClient(String node) {
        this(node, null);
    }

    /** @param token the admin token to send as {@code Authorization: Bearer}, or null */
    AdminClient(String node, String token) {
        this(node, token, null);
    }

    /** @param caCert a PEM certificate to trust for an {@code https://} node (a self-signed one), or null */
    AdminClient(String node, String token, java.nio.file.Path caCert) {
        this.token = token;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (caCert != null) {
            b.sslContext(trusting(caCert));
        }
        this.http = b.build();
        this.node = node;
        this.base = node.endsWith("/") ? node.substring(0, node.length() - 1) : node;
        uri("/");
    }

    /** The node's address without a trailing slash. */
    String base() {
        return base;
    }

    /** POST {@code path} (with its query) without a body. */
    Answer post(String path, Duration timeout) {
        return send(request(path).POST(HttpRequest.BodyPublishers.noBody()).timeout(timeout).build());
    }

    /** POST {@code path} with {@code body} (application/wasm). */
    Answer post(String path, byte[] body, Duration timeout) {
        return send(request(path).POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/wasm").timeout(timeout).build());
    }

    Answer get(String path, Duration timeout) {
        return send(request(path).timeout(timeout).build());
    }

    /** A request to {@code path}, with the admin token when there is one. */
    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /**
     * {@code app}'s entry in the node's {@code /status}, or null while the node does not answer it (starting, or asked
     * more than twice a second); an app the node does not have is a {@link UserError}.
     */
    io.vertx.core.json.JsonObject appStatus(String app) {
        Answer r = get("/status", Duration.ofSeconds(10));
        if (r.status() != 200) {
            return null;
        }
        io.vertx.core.json.JsonArray apps = r.json().getJsonArray("apps", new io.vertx.core.json.JsonArray());
        for (int i = 0; i < apps.size(); i++) {
            io.vertx.core.json.JsonObject a = apps.getJsonObject(i);
            if (app.equals(a.getString("name"))) {
                return a;
            }
        }
        throw new UserError("the node at " + base + " has no app '" + app + "'", "name one of the apps in " + base + "/status");
    }

    /** An answer: its status and body; {@link #json} reads the body, or gives {@code {"error": body}} when it is not JSON. */
    record Answer(int status, String body) {
        JsonObject json() {
            try {
                return new JsonObject(body);
            } catch (RuntimeException e) {
                return new JsonObject().put("error", body.strip());
            }
        }

        /**
         * The error for a refusal: {@code what} with the status and the node's "error", and the node's "fix" (or
         * {@code fix} when it gave none).
         */
        UserError refused(String what, String fix) {
            JsonObject j = json();
            return new UserError(what + " (HTTP " + status + "): " + j.getString("error", ""), j.getString("fix", fix));
        }
    }

    private Answer send(HttpRequest request) {
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UserError("cannot reach the node at " + node + ": " + e,
                    "start it with ./replicode run (or ./replicode node), or pass --node URL of a live node");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("interrupted while talking to " + node, "run the command again");
        }
    }

    private URI uri(String path) {
        try {
            URI u = URI.create(base + path);
            if (u.getScheme() == null || u.getHost() == null) {
                throw new IllegalArgumentException("no scheme or host");
            }
            return u;
        } catch (IllegalArgumentException e) {
            throw new UserError("--node " + node + " is not a URL", "pass e.g. --node http://127.0.0.1:8080");
        }
    }

    /** An SSL context that trusts the certificates in {@code pem}. */
    private static javax.net.ssl.SSLContext trusting(java.nio.file.Path pem) {
        try (var in = java.nio.file.Files.newInputStream(pem)) {
            java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
            trust.load(null, null);
            int n = 0;
            for (var cert : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + n++, cert);
            }
            var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new UserError("--cacert " + pem + " is not a readable PEM certificate: " + e.getMessage(),
                    "give the node's certificate (its --tls-cert) in PEM");
        }
    }
}
