package io.replicode.gateway.status;

import io.replicode.gateway.limits.TokenBuckets;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Keeps {@code /status} cheap for the apps whatever the polling: a token bucket per client address (beyond
 * it, 429), and at most one call of the status provider (which asks the replicas) in flight: concurrent
 * requests share it, and none waits for it longer than {@code timeoutMs}, even while an earlier call is still
 * held up on a busy guest thread. Runs on the gateway's event loop.
 */
public final class StatusGate {
    /** Client addresses remembered by the rate limit. */
    static final int MAX_CLIENTS = 4096;

    private final TokenBuckets buckets;
    private final Supplier<Future<JsonObject>> provider;
    private final long timeoutMs;
    private Future<JsonObject> inFlight;
    private long limited;
    private long providerCalls;

    /** @param provider the pipeline's status, or null for none */
    public StatusGate(double perSecond, int burst, Supplier<Future<JsonObject>> provider, long timeoutMs) {
        this.buckets = new TokenBuckets(perSecond, burst, MAX_CLIENTS);
        this.provider = provider;
        this.timeoutMs = timeoutMs;
    }

    /** 0 when {@code client} may have the status now, else the milliseconds until it may (counted). */
    public long admit(String client, long nowMs) {
        long waitMs = buckets.take(client == null ? "" : client, nowMs);
        if (waitMs > 0) {
            limited++;
        }
        return waitMs;
    }

    /**
     * The pipeline's status, or an {@code {"error": ...}} when it failed or took longer than the timeout; null
     * without a provider.
     */
    public Future<JsonObject> pipeline() {
        if (provider == null) {
            return Future.succeededFuture(null);
        }
        Future<JsonObject> shared = inFlight;
        if (shared == null) {
            providerCalls++;
            Future<JsonObject> called;
            try {
                called = provider.get();
            } catch (RuntimeException e) {
                called = Future.failedFuture(e);
            }
            Future<JsonObject> call = called;
            shared = call;
            inFlight = call;
            call.onComplete(ar -> {
                if (inFlight == call) {
                    inFlight = null;
                }
            });
        }
        return shared.timeout(timeoutMs, TimeUnit.MILLISECONDS).transform(ar -> Future.succeededFuture(
                ar.succeeded() ? ar.result() : new JsonObject().put("error", "status provider failed: " + ar.cause())));
    }

    /** Requests answered 429. */
    public long limited() {
        return limited;
    }

    /** Times the provider was asked (fewer than requests when they overlap). */
    public long providerCalls() {
        return providerCalls;
    }
}
