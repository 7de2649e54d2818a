package io.replicode.gateway.limits;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A token bucket per client address: {@code burst} requests at once, then {@code perSecond}. A bounded
 * number of addresses is remembered (the least recently seen is forgotten first, so a flood of addresses
 * cannot grow memory). Pure: the caller passes the time in.
 */
public final class TokenBuckets {
    private static final class Bucket {
        double tokens;
        long atMs;
    }

    private final double perSecond;
    private final int burst;
    private final int maxClients;
    private final LinkedHashMap<String, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true);

    public TokenBuckets(double perSecond, int burst, int maxClients) {
        if (perSecond <= 0 || burst < 1 || maxClients < 1) {
            throw new IllegalArgumentException("token buckets need a positive rate, burst and client count");
        }
        this.perSecond = perSecond;
        this.burst = burst;
        this.maxClients = maxClients;
    }

    /** Takes a token for {@code client}: 0 when granted, else the milliseconds until the next token. */
    public long take(String client, long nowMs) {
        Bucket b = buckets.get(client);
        if (b == null) {
            if (buckets.size() >= maxClients) {
                Iterator<Map.Entry<String, Bucket>> eldest = buckets.entrySet().iterator();
                eldest.next();
                eldest.remove();
            }
            b = new Bucket();
            b.tokens = burst;
            b.atMs = nowMs;
            buckets.put(client, b);
        }
        b.tokens = Math.min(burst, b.tokens + Math.max(0, nowMs - b.atMs) * perSecond / 1000.0);
        b.atMs = nowMs;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return 0;
        }
        return (long) Math.ceil((1 - b.tokens) * 1000.0 / perSecond);
    }
}
