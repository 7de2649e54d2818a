package io.replicode.node.config;

import io.replicode.node.UserError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How a node is operated, apart from what it runs: the admin token that guards {@code /status}, the dashboard's data
 * and the admin API, and whether it keeps metrics.
 *
 * @param adminToken the token clients must send as {@code Authorization: Bearer <token>}, or null
 * @param metrics    whether the node records metrics and serves {@code /metrics} ({@code --no-metrics}: not, to
 *                   measure what they cost)
 */
public record Operations(String adminToken, boolean metrics) {
    /** The environment variable that holds the admin token. */
    public static final String TOKEN_VARIABLE = "REPLICODE_ADMIN_TOKEN";

    public static final Operations NONE = new Operations(null, true);

    /** With {@code adminToken} (or none), and metrics. */
    public Operations(String adminToken) {
        this(adminToken, true);
    }

    /** The same, with metrics on or off. */
    public Operations withMetrics(boolean on) {
        return new Operations(adminToken, on);
    }

    public Operations {
        if (adminToken != null && adminToken.isBlank()) {
            adminToken = null;
        }
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
}
