package io.replicode.gateway.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.limits.Refusal;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.NatTable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * HTTP ingress: {@code /<app>/<path>} becomes a fresh virtual connection to the app's HTTP listener
 * carrying the request as {@code <path>} ({@link HttpExchange}). Unknown apps get 404, bodies declared
 * larger than the app's limit 413 before anything reaches the guest, stopped or full apps 503 with the
 * reason, a client address over the app's per-client cap 429 (both with {@code Retry-After}).
 */
public final class HttpIngress {
    /** Request headers that belong to the client's hop; the guest's connection is one request long. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
            "trailer", "upgrade", "expect", "transfer-encoding");

    private final Vertx vertx;
    private final Switchboard switchboard;

    public HttpIngress(Vertx vertx, Switchboard switchboard) {
        this.vertx = vertx;
        this.switchboard = switchboard;
    }

    /** Handles a request whose path starts with {@code /<app>}. */
    public void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String uri = request.uri();
        if (!uri.startsWith("/")) {
            // Absolute form ("GET http://host/kv/x"): use the path and query only.
            uri = request.path() + (request.query() == null ? "" : "?" + request.query());
        }
        int end = 1;
        while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?') {
            end++;
        }
        String name = uri.substring(1, end);
        String rest = uri.substring(end);
        if (rest.isEmpty() || rest.charAt(0) == '?') {
            rest = "/" + rest;
        }
        GatewayConfig config = switchboard.config();
        GatewayConfig.App app = config.app(name);
        HttpServerResponse response = request.response();
        if (app == null) {
            JsonArray apps = new JsonArray();
            config.apps().forEach(a -> apps.add(a.name()));
            error(response, 404, new JsonObject().put("error", "no app '" + name + "' at this gateway").put("apps", apps));
            return;
        }
        if (app.httpListener() == null) {
            error(response, 404, "app '" + name + "' has no HTTP listener");
            return;
        }
        long declared = contentLength(request);
        if (declared > app.limits().maxRequestBodyBytes()) {
            tooLarge(request, "request body of " + declared + " bytes is larger than " + app.limits().maxRequestBodyBytes()
                    + " bytes (the app's maxRequestBodyBytes)");
            return;
        }
        String client = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
        Refusal refusal = switchboard.admit(name, client);
        if (refusal != null) {
            switchboard.count(name, refusal.reason());
            response.putHeader("Retry-After", "1");
            if (declared != 0 && !request.isEnded()) {
                // A body would follow: the connection goes, rather than reading what the app will not take.
                closing(request, refusal.httpStatus(), refusal.message());
            } else {
                error(response, refusal.httpStatus(), refusal.message());
            }
            return;
        }
        HttpRequest head = head(request, name, rest);
        GatewayConfig.Limits limits = app.limits();
        NatTable.Mapping<?> m = switchboard.open(name, app.httpListener(), NatTable.Kind.HTTP,
                request.remoteAddress() + " " + request.method() + " " + request.uri(), client,
                id -> new HttpExchange(id, name, request, head, switchboard, vertx, limits, config.requestTimeoutMs()));
        ((HttpExchange) m.peer()).start();
    }

    /** The request as the guest sees it: HTTP/1.1, one request per connection, its path without the app prefix. */
    static HttpRequest head(HttpServerRequest request, String app, String path) {
        HttpHeaders headers = new DefaultHttpHeaders();
        Set<String> listed = new HashSet<>();
        for (String v : request.headers().getAll("Connection")) {
            for (String token : v.split(",")) {
                listed.add(token.trim().toLowerCase(Locale.ROOT));
            }
        }
        for (Map.Entry<String, String> e : request.headers()) {
            String key = e.getKey().toLowerCase(Locale.ROOT);
            if (!HOP_BY_HOP.contains(key) && !listed.contains(key)) {
                headers.add(e.getKey(), e.getValue());
            }
        }
        String te = request.getHeader("Transfer-Encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked") && !headers.contains("Content-Length")) {
            // Vert.x took the chunks apart; the codec puts the body back into chunks for the guest.
            headers.set("Transfer-Encoding", "chunked");
        }
        headers.set("Connection", "close");
        headers.add("X-Forwarded-For", request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress());
        headers.set("X-Forwarded-Prefix", "/" + app);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1,
                io.netty.handler.codec.http.HttpMethod.valueOf(request.method().name()), path, headers);
    }

    /** The declared body length, or -1. */
    private static long contentLength(HttpServerRequest request) {
        String v = request.getHeader("Content-Length");
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Answers 413 and closes the client's connection: the body it may still be sending is not read (Vert.x
     * would otherwise read and drop all of it to keep the connection).
     */
    static void tooLarge(HttpServerRequest request, String message) {
        closing(request, 413, message);
    }

    /** Answers {@code status} with {@code message} and closes the client's connection, without reading on. */
    static void closing(HttpServerRequest request, int status, String message) {
        request.response().putHeader("Connection", "close");
        error(request.response(), status, message).onComplete(ar -> request.connection().close());
    }

    /** Ends {@code response} with {@code status} and {@code {"error": message}}. */
    public static Future<Void> error(HttpServerResponse response, int status, String message) {
        return error(response, status, new JsonObject().put("error", message));
    }

    public static Future<Void> error(HttpServerResponse response, int status, JsonObject body) {
        return response.setStatusCode(status)
                .putHeader("Content-Type", "application/json")
                .end(body.encode() + "\n");
    }
}
