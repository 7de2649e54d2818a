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
    /** The sequencer (ingress address) each app's batches were last sent to. */
    private final Map<String, String> target = new HashMap<>();
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

    /**
     * Remembers {@code batch} of {@code app} and says what to send to {@code to}, the app's sequencer now (null: none
     * known; nothing is sent, the batch waits): this batch alone when the ones before it went there too; otherwise every
     * unacknowledged batch, in order, this one last.
     *
     * <p>Why: a sequencer takes a gateway's batches in batch order and drops one numbered below the highest it took as a
     * duplicate (and its acknowledgement of the higher one acknowledges the lower ones here). When a gateway came up
     * before its app's sequencer was known (a restarted cluster), or the leader changed, the next batch went to the new
     * sequencer at once and the waiting ones only at the next periodic resend: those were then dropped, and their
     * clients' connections never answered (until the idle timeout).
     */
    public List<IngressBatch> publish(String app, IngressBatch batch, int size, long nowMs, String to) {
        sent(app, batch, size, nowMs);
        if (to == null) {
            return List.of();
        }
        if (to.equals(target.get(app))) {
            return List.of(batch);
        }
        return resendTo(app, to, nowMs);
    }

    /**
     * The periodic check: every unacknowledged batch of {@code app}, in order, to {@code to} when that is another
     * sequencer than the last one sent to, or when the oldest was (re)sent before {@code staleBeforeMs}; else none.
     */
    public List<IngressBatch> due(String app, String to, long nowMs, long staleBeforeMs) {
        if (to == null || (to.equals(target.get(app)) && !stale(app, staleBeforeMs))) {
            return List.of();
        }
        return resendTo(app, to, nowMs);
    }

    /** Every unacknowledged batch of {@code app} in order, now sent to {@code to}; their send time becomes {@code nowMs}. */
    public List<IngressBatch> resendTo(String app, String to, long nowMs) {
        if (to == null) {
            return List.of();
        }
        target.put(app, to);
        return resend(app, nowMs);
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
