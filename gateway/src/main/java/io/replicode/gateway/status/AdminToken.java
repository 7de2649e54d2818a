package io.replicode.gateway.status;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The operator's token, when one is set: {@code /status}, the dashboard's data and every admin endpoint then need
 * {@code Authorization: Bearer <token>} (or the {@code replicode_token} cookie the dashboard keeps it in). Without one,
 * those stay open as before, but {@code /status} hides client addresses and request lines.
 */
public final class AdminToken {
    /** The cookie the dashboard keeps the token in after it was given once as {@code ?token=}. */
    public static final String COOKIE = "replicode_token";

    private final byte[] token;

    private AdminToken(String token) {
        this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code token} null or blank: no token. */
    public static AdminToken of(String token) {
        return new AdminToken(token == null || token.isBlank() ? null : token.strip());
    }

    public static final AdminToken NONE = new AdminToken(null);

    public boolean isSet() {
        return token != null;
    }

    /** Whether the request carries the token (always, when none is set). Compared in constant time. */
    public boolean admits(RoutingContext ctx) {
        if (token == null) {
            return true;
        }
        String auth = ctx.request().getHeader("Authorization");
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) && matches(auth.substring(7).strip())) {
            return true;
        }
        var cookie = ctx.request().getCookie(COOKIE);
        return cookie != null && matches(cookie.getValue());
    }

    /** Whether {@code given} is the token (false when none is set), compared in constant time. */
    public boolean matches(String given) {
        if (token == null) {
            return false;
        }
        return MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Answers 401 and returns false unless the request carries the token; {@code what} names what was asked for.
     */
    public boolean check(RoutingContext ctx, String what) {
        if (admits(ctx)) {
            return true;
        }
        ctx.response().setStatusCode(401).putHeader("WWW-Authenticate", "Bearer realm=\"replicode\"")
                .putHeader("Content-Type", "application/json")
                .end(new JsonObject().put("error", what + " needs the admin token")
                        .put("fix", "send 'Authorization: Bearer <token>' (the value of REPLICODE_ADMIN_TOKEN or of the"
                                + " node's --admin-token-file); ./replicode's commands send REPLICODE_ADMIN_TOKEN").encode() + "\n");
        return false;
    }
}
