package io.replicode.gateway.routing;

import io.replicode.nat.EventCodec;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gathers the ingress events of each app into {@link IngressBatch}es, numbered from 1 per app. The caller
 * decides when a batch is taken (at the end of an event-loop turn, or when it is full); window grants for
 * the same connection within one batch are merged into one event, and so are bytes for a connection that directly
 * follow its bytes (an HTTP request's head and body: one event, up to {@link #JOIN_DATA_BYTES}).
 *
 * <p>Pure and single-threaded.
 */
public final class IngressBatcher {
    private static final int BATCH_OVERHEAD = 1 + 4 + 8 + 4;
    /**
     * Bytes for a connection that directly follow its last Data event are joined to it up to this size. A stream has
     * no message boundaries and the guest receives a frame's events before it runs, so the guest sees the same bytes;
     * every replica handles one event less.
     */
    static final int JOIN_DATA_BYTES = 16 << 10;

    /** The batch being gathered for one app. */
    private static final class Pending {
        final List<IngressEvent> events = new ArrayList<>();
        /** Index in {@link #events} of each connection's window grant, for merging. */
        final Map<Long, Integer> windowAt = new HashMap<>();
        int bytes = BATCH_OVERHEAD;
    }

    private final int gatewayId;
    private final int maxBatchBytes;
    private final Map<String, Pending> pending = new LinkedHashMap<>();
    private final Map<String, Long> lastBatchSeq = new HashMap<>();
    private long eventsTaken;

    /** @param maxBatchBytes encoded size at which a batch counts as full (one event may exceed it on its own) */
    public IngressBatcher(int gatewayId, int maxBatchBytes) {
        if (maxBatchBytes < 1024) {
            throw new IllegalArgumentException("maxBatchBytes " + maxBatchBytes + " < 1024");
        }
        this.gatewayId = gatewayId;
        this.maxBatchBytes = maxBatchBytes;
    }

    /** Adds {@code event} to {@code app}'s batch; returns true when it started the batch (the caller schedules a flush). */
    public boolean add(String app, IngressEvent event) {
        Pending p = pending.get(app);
        boolean started = p == null;
        if (started) {
            p = new Pending();
            pending.put(app, p);
        }
        if (event instanceof IngressEvent.Window w) {
            Integer at = p.windowAt.get(w.connection());
            if (at != null) {
                IngressEvent.Window before = (IngressEvent.Window) p.events.get(at);
                long sum = (long) before.bytes() + w.bytes();
                if (sum <= Integer.MAX_VALUE) {
                    p.events.set(at, new IngressEvent.Window(w.connection(), (int) sum));
                    return started;
                }
            }
            p.windowAt.put(w.connection(), p.events.size());
        }
        if (event instanceof IngressEvent.Data d && !p.events.isEmpty()
                && p.events.get(p.events.size() - 1) instanceof IngressEvent.Data last
                && last.connection() == d.connection() && last.bytes().length + d.bytes().length <= JOIN_DATA_BYTES) {
            byte[] joined = java.util.Arrays.copyOf(last.bytes(), last.bytes().length + d.bytes().length);
            System.arraycopy(d.bytes(), 0, joined, last.bytes().length, d.bytes().length);
            p.events.set(p.events.size() - 1, new IngressEvent.Data(d.connection(), joined));
            p.bytes += d.bytes().length;
            return started;
        }
        p.events.add(event);
        p.bytes += EventCodec.size(event);
        return started;
    }

    /** Whether {@code app}'s batch reached the size at which it should go at once. */
    public boolean full(String app) {
        Pending p = pending.get(app);
        return p != null && p.bytes >= maxBatchBytes;
    }

    /** Apps with events waiting, in the order their batches started. */
    public List<String> pendingApps() {
        return new ArrayList<>(pending.keySet());
    }

    /** {@code app}'s batch with the next batch seq, or null when nothing waits. */
    public IngressBatch take(String app) {
        Pending p = pending.remove(app);
        if (p == null) {
            return null;
        }
        long seq = lastBatchSeq.merge(app, 1L, Long::sum);
        eventsTaken += p.events.size();
        return new IngressBatch(gatewayId, seq, p.events);
    }

    /** The seq of {@code app}'s last batch taken (0 before the first). */
    public long lastBatchSeq(String app) {
        return lastBatchSeq.getOrDefault(app, 0L);
    }

    /** Events taken in batches so far (merged window grants count once). */
    public long eventsTaken() {
        return eventsTaken;
    }
}
