package io.replicode.gateway.routing;

import io.replicode.nat.IngressBatch;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ingress batches a gateway sent in a cluster that no sequencer has acknowledged yet (no durable frame holds
 * them), per app in batch order. When the app's sequencer changes (a failover, a migration) they are sent again:
 * the new sequencer takes each gateway's batches in order and the replicas drop a batch they saw before, so a batch
 * is applied exactly once whether or not the old sequencer got it into a frame.
 *
 * <p>Pure and single-threaded (the gateway's event loop).
 */
public final class UnackedBatches {
    private record Sent(IngressBatch batch, long atMs, int bytes) {}

    private final Map<String, TreeMap<Long, Sent>> byApp = new HashMap<>();
    private long bytes;
    private long resent;
    private long acked;

    /** Remembers {@code batch} of {@code app}, sent at {@code nowMs} ({@code bytes}: its encoded size). */
    public void sent(String app, IngressBatch batch, int size, long nowMs) {
        byApp.computeIfAbsent(app, a -> new TreeMap<>()).put(batch.batchSeq(), new Sent(batch, nowMs, size));
        bytes += size;
    }

    /** Forgets {@code app}'s batches up to {@code batchSeq}: they are in durable frames. */
    public void ack(String app, long batchSeq) {
        TreeMap<Long, Sent> m = byApp.get(app);
        if (m == null) {
            return;
        }
        var head = m.headMap(batchSeq, true);
        for (Sent s : head.values()) {
            bytes -= s.bytes();
            acked++;
        }
        head.clear();
    }

    /** {@code app}'s unacknowledged batches in order, to send again; their send time becomes {@code nowMs}. */
    public List<IngressBatch> resend(String app, long nowMs) {
        TreeMap<Long, Sent> m = byApp.get(app);
        List<IngressBatch> out = new ArrayList<>();
        if (m == null) {
            return out;
        }
        for (Map.Entry<Long, Sent> e : m.entrySet()) {
            out.add(e.getValue().batch());
            e.setValue(new Sent(e.getValue().batch(), nowMs, e.getValue().bytes()));
        }
        resent += out.size();
        return out;
    }

    /** Whether {@code app}'s oldest unacknowledged batch was (re)sent before {@code beforeMs}. */
    public boolean stale(String app, long beforeMs) {
        TreeMap<Long, Sent> m = byApp.get(app);
        return m != null && !m.isEmpty() && m.firstEntry().getValue().atMs() < beforeMs;
    }

    /** Forgets every batch (the gateway reset all its connections: what they carried will not be resent). */
    public void clear() {
        byApp.clear();
    }

    public int count(String app) {
        TreeMap<Long, Sent> m = byApp.get(app);
        return m == null ? 0 : m.size();
    }

    public long bytes() {
        return bytes;
    }

    public long resent() {
        return resent;
    }

    public long acked() {
        return acked;
    }
}
