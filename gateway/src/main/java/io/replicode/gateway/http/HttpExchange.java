package io.replicode.gateway.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.limits.BodyDeadline;
import io.replicode.gateway.limits.IdleTimer;
import io.replicode.gateway.limits.Reason;
import io.replicode.gateway.routing.GuestStream;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.IngressEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One HTTP request on its own virtual connection: the request is re-encoded as HTTP/1.1 bytes with
 * {@code Connection: close} and its body streamed to the guest within the guest's receive window (the
 * client's request is paused while the window is full); the end of the body is the guest's end of input.
 * The guest's bytes are parsed as an HTTP response ({@link HttpWire}) and streamed to the client, each
 * piece granted back to the guest once written, so a slow client stalls the guest and not the gateway.
 *
 * <p>If the exchange fails before the response head reached the client, the client gets a JSON error
 * (502 bad response or reset, 503 app stopped, 504 no answer in time, 413 body too large, 408 body too
 * slow or nothing moved for the idle timeout); after it, the client's connection is reset. A client that goes
 * away mid-exchange resets the guest's connection. A body must keep pace with the app's body timeout
 * ({@link BodyDeadline}): a slow loris gets 408 and its connection closed.
 */
final class HttpExchange extends GuestStream {
    /** Response headers that belong to one hop, not to the message: Vert.x sets its own. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "te", "trailer", "upgrade");

    private final HttpServerRequest request;
    private final HttpServerResponse response;
    private final Vertx vertx;
    private final long maxBodyBytes;
    private final long timeoutMs;
    private final HttpWire wire = new HttpWire();
    private final HttpRequest head;

    private long bodyBytes;
    private boolean requestEnded;
    /** A 1xx head was parsed: its (empty) end is not the response's. */
    private boolean informational;
    private boolean headSeen;
    private boolean responseEnded;
    private boolean guestFin;
    private boolean done;
    private Future<Void> lastWrite = Future.succeededFuture();
    private long timer = -1;
    private final GatewayConfig.Limits limits;
    private final BodyDeadline body;
    private final IdleTimer idle;
    private long bodyTimer = -1;

    HttpExchange(long id, String app, HttpServerRequest request, HttpRequest head, Switchboard switchboard, Vertx vertx,
                 GatewayConfig.Limits limits, long timeoutMs) {
        super(id, app, switchboard, limits.receiveBufferBytes(), limits.sendWindowBytes());
        this.request = request;
        this.response = request.response();
        this.vertx = vertx;
        this.limits = limits;
        this.maxBodyBytes = limits.maxRequestBodyBytes();
        this.timeoutMs = timeoutMs;
        this.head = head;
        this.body = new BodyDeadline(limits.bodyTimeoutMs(), limits.minBodyBytesPerSecond(), nowMs());
        this.idle = new IdleTimer(vertx, limits.idleTimeoutMs(), this::onIdle);
    }

    private static long nowMs() {
        return System.nanoTime() / 1_000_000;
    }

    /** Sends the request head and starts streaming the body; call once the connection is open (after its Open event). */
    void start() {
        inbound.data(wire.request(head));
        request.handler(this::onBody);
        request.endHandler(v -> onRequestEnd());
        request.exceptionHandler(t -> onClientGone());
        response.closeHandler(v -> onClientGone());
        response.exceptionHandler(t -> onClientGone());
        updateReading();
        armBodyTimer(limits.bodyTimeoutMs());
    }

    private void armBodyTimer(long ms) {
        bodyTimer = vertx.setTimer(Math.max(1, ms), t -> {
            bodyTimer = -1;
            if (done || requestEnded) {
                return;
            }
            long now = nowMs();
            if (body.expired(now)) {
                switchboard.count(app, Reason.BODY_TIMEOUT);
                fail(408, "request body to app '" + app + "' too slow: " + bodyBytes + " bytes in "
                        + limits.bodyTimeoutMs() + " ms plus 1 s per " + limits.minBodyBytesPerSecond()
                        + " bytes (the app's bodyTimeoutMs and minBodyBytesPerSecond)");
                switchboard.emit(app, new IngressEvent.Reset(id));
                finish();
            } else {
                // Paused by the gateway, or the client earned more time: look again when it would run out.
                armBodyTimer(inbound.accepting() ? body.deadlineMs(now) - now : limits.bodyTimeoutMs());
            }
        });
    }

    private void onIdle() {
        if (!done) {
            switchboard.count(app, Reason.IDLE_TIMEOUT);
            fail(408, "no byte moved to or from app '" + app + "' for " + limits.idleTimeoutMs()
                    + " ms (the app's idleTimeoutMs)");
            switchboard.emit(app, new IngressEvent.Reset(id));
            finish();
        }
    }

    // ---- client to guest ----

    private void onBody(Buffer buffer) {
        if (done) {
            return;
        }
        bodyBytes += buffer.length();
        body.received(buffer.length());
        idle.touch();
        if (bodyBytes > maxBodyBytes) {
            // Too large for the app: the guest's connection is reset before it saw the whole request.
            fail(413, "request body larger than " + maxBodyBytes + " bytes (the app's maxRequestBodyBytes)");
            switchboard.emit(app, new IngressEvent.Reset(id));
            finish();
            return;
        }
        inbound.data(wire.content(buffer.getBytes()));
        updateReading();
    }

    private void onRequestEnd() {
        if (done) {
            return;
        }
        requestEnded = true;
        inbound.data(wire.last());
        inbound.end();
        if (!headSeen) {
            timer = vertx.setTimer(timeoutMs, t -> {
                timer = -1;
                if (!done && !headSeen) {
                    fail(504, "app '" + app + "' sent no response within " + timeoutMs + " ms");
                    switchboard.emit(app, new IngressEvent.Reset(id));
                    finish();
                }
            });
        }
    }

    private void updateReading() {
        if (done || requestEnded) {
            return;
        }
        if (inbound.accepting()) {
            request.resume();
        } else {
            request.pause();
        }
        body.paused(!inbound.accepting(), nowMs());
    }

    private void onClientGone() {
        if (!done && !responseEnded) {
            switchboard.emit(app, new IngressEvent.Reset(id));
            finish();
        }
    }

    // ---- guest to client ----

    @Override
    public void guestSent(byte[] bytes) {
        int n = bytes.length;
        if (!admitSent(n)) {
            return;
        }
        if (!done && !responseEnded) {
            handle(wire.response(bytes));
        }
        lastWrite.onComplete(ar -> {
            idle.touch();
            delivered(n, !done);
        });
    }

    @Override
    public void guestClosed() {
        guestFin = true;
        guestFinishedSending();
        if (done) {
            return;
        }
        if (!responseEnded) {
            handle(wire.end());
        }
        if (!responseEnded) {
            fail(502, "app '" + app + "' closed the connection before a complete HTTP response");
        }
        if (!inbound.endDelivered()) {
            // The guest is done before it read the whole request: release its side.
            switchboard.emit(app, new IngressEvent.Reset(id));
        }
        finish();
    }

    @Override
    public void guestReset() {
        if (!done) {
            fail(502, "app '" + app + "' reset the connection");
            finish();
        }
    }

    @Override
    public void guestConsumed(int bytes) {
        if (admitConsumed(bytes)) {
            updateReading();
        }
    }

    @Override
    public void abort(String reason) {
        if (!done) {
            fail(503, reason);
            done = true;
            cleanUp();
        }
    }

    private void handle(List<HttpWire.Part> parts) {
        for (HttpWire.Part part : parts) {
            if (responseEnded || done) {
                return;
            }
            if (part instanceof HttpWire.Head h) {
                head(h.response());
            } else if (part instanceof HttpWire.Body b) {
                if (headSeen && !informational) {
                    lastWrite = response.write(Buffer.buffer(b.bytes()));
                }
            } else if (part instanceof HttpWire.End e) {
                if (informational) {
                    informational = false;
                } else if (headSeen) {
                    end(e.trailers());
                }
            } else if (part instanceof HttpWire.Bad bad) {
                fail(502, "app '" + app + "' sent an invalid HTTP response: " + bad.problem());
                switchboard.emit(app, new IngressEvent.Reset(id));
                finish();
            }
        }
    }

    private void head(HttpResponse head) {
        int status = head.status().code();
        if (head.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
            // 100 Continue and the like: Vert.x answers Expect itself; the final response follows.
            informational = true;
            return;
        }
        headSeen = true;
        cancelTimer();
        response.setStatusCode(status);
        response.setStatusMessage(head.status().reasonPhrase());
        HttpHeaders headers = head.headers();
        for (Map.Entry<String, String> e : headers) {
            if (!HOP_BY_HOP.contains(e.getKey().toLowerCase())) {
                response.headers().add(e.getKey(), e.getValue());
            }
        }
        boolean bodyless = request.method() == HttpMethod.HEAD || status == 204 || status == 304;
        if (!bodyless && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            response.setChunked(true);
        }
    }

    private void end(HttpHeaders trailers) {
        responseEnded = true;
        if (response.isChunked()) {
            for (Map.Entry<String, String> e : trailers) {
                response.trailers().add(e.getKey(), e.getValue());
            }
        }
        lastWrite = response.end();
        if (guestFin) {
            finish();
        } else {
            // The guest was asked to close (Connection: close); a guest that does not is let go after the timeout.
            timer = vertx.setTimer(timeoutMs, t -> {
                timer = -1;
                if (!done) {
                    switchboard.emit(app, new IngressEvent.Reset(id));
                    finish();
                }
            });
        }
    }

    /** Tells the client: a JSON error if nothing was sent yet, else a reset of its connection. */
    private void fail(int status, String message) {
        if (responseEnded || response.ended() || response.closed()) {
            return;
        }
        responseEnded = true;
        if (!response.headWritten()) {
            response.headers().clear();
            response.setChunked(false);
            if (status == 413 || status == 408) {
                // The client may still be sending a body we will not read: its connection goes.
                HttpIngress.closing(request, status, message);
            } else {
                HttpIngress.error(response, status, message);
            }
        } else {
            response.reset();
        }
    }

    private void finish() {
        if (!done) {
            done = true;
            switchboard.finished(id);
            cleanUp();
        }
    }

    private void cleanUp() {
        cancelTimer();
        idle.cancel();
        if (bodyTimer != -1) {
            vertx.cancelTimer(bodyTimer);
            bodyTimer = -1;
        }
        wire.close();
        discardInbound();
        if (!requestEnded) {
            // Let Vert.x read (and drop) the rest of the body, so the client's connection can be reused.
            request.handler(b -> { });
            request.resume();
        }
    }

    private void cancelTimer() {
        if (timer != -1) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }
}
