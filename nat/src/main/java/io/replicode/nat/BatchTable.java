package io.replicode.nat;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The last batchSeq taken from each gateway: how every part that sees ingress batches tells a new batch from one
 * resent after a sequencer change. A gateway numbers its batches of an app 1, 2, 3, ... per incarnation; a batch at
 * or below the last one taken from its gateway is a resend. {@link IngressEvent.GatewayLost} starts a gateway (or,
 * with {@link IngressEvent.GatewayLost#ALL}, every gateway) over: its next incarnation counts from 1 again.
 *
 * <p>The replicas' duplicate filter, the Raft state machine, the embedded sequencer and the cluster's leader
 * sequencer each keep one. Entries are in gateway order, so a table written out is canonical. Not thread-safe.
 */
public final class BatchTable {
    private final TreeMap<Integer, Long> last = new TreeMap<>();

    /** An empty table. */
    public BatchTable() {}

    /** A table holding {@code entries} (gateway -> last batchSeq). */
    public BatchTable(Map<Integer, Long> entries) {
        entries.forEach(this::note);
    }

    /** Whether batch {@code batchSeq} of {@code gateway} is new (above the last taken); if so it is taken. */
    public boolean admit(int gateway, long batchSeq) {
        Long had = last.get(gateway);
        if (had != null && batchSeq <= had) {
            return false;
        }
        last.put(gateway, batchSeq);
        return true;
    }

    /** Whether batch {@code batchSeq} of {@code gateway} was taken already (at or below the last). */
    public boolean taken(int gateway, long batchSeq) {
        Long had = last.get(gateway);
        return had != null && batchSeq <= had;
    }

    /** Takes {@code batchSeq} for {@code gateway} unless a later one was taken. */
    public void note(int gateway, long batchSeq) {
        last.merge(gateway, batchSeq, Math::max);
    }

    /** {@code gateway} starts over ({@link IngressEvent.GatewayLost#ALL}: every gateway). */
    public void forget(int gateway) {
        if (gateway == IngressEvent.GatewayLost.ALL) {
            last.clear();
        } else {
            last.remove(gateway);
        }
    }

    /**
     * What committed events say about the table: a {@link IngressEvent.Batch} mark of a gateway is taken (the sequencer's
     * own, gateway 0, is not a gateway's), a {@link IngressEvent.GatewayLost} forgets.
     */
    public void apply(List<IngressEvent> events) {
        for (IngressEvent e : events) {
            if (e instanceof IngressEvent.Batch b && b.gateway() != IngressEvent.Batch.SEQUENCER) {
                note(b.gateway(), b.batchSeq());
            } else if (e instanceof IngressEvent.GatewayLost g) {
                forget(g.gateway());
            }
        }
    }

    /** The last batchSeq taken from {@code gateway}, or null when none (or forgotten). */
    public Long last(int gateway) {
        return last.get(gateway);
    }

    /** Gateways with a batch taken, in increasing order. */
    public java.util.Set<Integer> gateways() {
        return Collections.unmodifiableSet(last.keySet());
    }

    public int size() {
        return last.size();
    }

    public void clear() {
        last.clear();
    }

    /** Replaces the whole table with {@code other}'s entries. */
    public void replaceWith(BatchTable other) {
        last.clear();
        last.putAll(other.last);
    }

    /** A copy of the entries, in gateway order. */
    public SortedMap<Integer, Long> entries() {
        return new TreeMap<>(last);
    }

    /** A copy of this table. */
    public BatchTable copy() {
        return new BatchTable(last);
    }

    @Override
    public String toString() {
        return last.toString();
    }
}
