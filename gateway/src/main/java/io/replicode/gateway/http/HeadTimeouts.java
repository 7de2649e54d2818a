package io.replicode.gateway.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.replicode.gateway.limits.AcceptPacer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The gateway's HTTP connections before a request reaches an app: each must send a complete request head
 * within {@code headerTimeoutMs} of opening, or of its previous response's end (keep-alive). A connection
 * that has not sent its first head by then gets 408 and is closed (a slow loris on headers); an idle
 * keep-alive connection is closed quietly. Its listening channel is paced like the TCP ports ({@link AcceptPacer}).
 *
 * <p>Vert.x offers no per-connection head timeout nor a way to answer without a request, so this class reaches
 * the connection's Netty channel. Runs on the gateway's event loop.
 */
public final class HeadTimeouts {
    private final Vertx vertx;
    private final long headerTimeoutMs;
    private final AcceptPacer pacer;
    private final Map<HttpConnection, Watch> watches = new IdentityHashMap<>();
    private long headTimeouts;
    private long keepAliveClosed;

    public HeadTimeouts(Vertx vertx, long headerTimeoutMs, AcceptPacer pacer) {
        this.vertx = vertx;
        this.headerTimeoutMs = headerTimeoutMs;
        this.pacer = pacer;
    }

    /** One connection: its requests in progress and the timer that waits for its next head. */
    private final class Watch {
        final HttpConnection connection;
        int inProgress;
        boolean served;
        long timer = -1;

        Watch(HttpConnection connection) {
            this.connection = connection;
        }

        void arm() {
            cancel();
            timer = vertx.setTimer(headerTimeoutMs, t -> {
                timer = -1;
                if (inProgress == 0) {
                    timedOut(this);
                }
            });
        }

        void cancel() {
            if (timer != -1) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }
    }

    /** A new HTTP connection (the server's connection handler). */
    public void connected(HttpConnection connection) {
        Channel channel = channel(connection);
        if (channel != null) {
            pacer.watch(channel.parent());
        }
        Watch w = new Watch(connection);
        watches.put(connection, w);
        connection.closeHandler(v -> {
            w.cancel();
            watches.remove(connection);
        });
        w.arm();
    }

    /** A request head arrived (first route of the router): the timer stops until its response ends. */
    public void headArrived(RoutingContext ctx) {
        Watch w = watches.get(ctx.request().connection());
        if (w != null) {
            w.inProgress++;
            w.served = true;
            w.cancel();
            ctx.addEndHandler(ar -> {
                w.inProgress--;
                if (w.inProgress == 0 && watches.containsKey(w.connection)) {
                    w.arm();
                }
            });
        }
        ctx.next();
    }

    private void timedOut(Watch w) {
        watches.remove(w.connection);
        Channel channel = channel(w.connection);
        if (!w.served && channel != null && channel.isActive()) {
            headTimeouts++;
            byte[] body = ("{\"error\":\"no complete request head within " + headerTimeoutMs
                    + " ms (headerTimeoutMs)\"}\n").getBytes(StandardCharsets.UTF_8);
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.REQUEST_TIMEOUT, Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            channel.writeAndFlush(r).addListener(f -> w.connection.close());
        } else {
            keepAliveClosed++;
            w.connection.close();
        }
    }

    private static Channel channel(HttpConnection connection) {
        return connection instanceof io.vertx.core.net.impl.ConnectionBase c ? c.channel() : null;
    }

    /** Connections that sent no complete first head in time (answered 408). */
    public long headTimeouts() {
        return headTimeouts;
    }

    /** Keep-alive connections closed for sending no next request in time. */
    public long keepAliveClosed() {
        return keepAliveClosed;
    }

    /** Open HTTP connections. */
    public int open() {
        return watches.size();
    }
}
