package io.replicode.replica.machine;

import io.replicode.nat.BatchTable;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.IngressEvent;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Drops the second copy of a gateway's ingress batch: part of the machine's replicated state (snapshotted,
 * in the digest), so every replica drops exactly the same events.
 *
 * <p>A gateway resends the batches a dead sequencer did not acknowledge, so a batch may appear twice in the
 * frame history. Sequencers put a {@link IngressEvent.Batch} mark before each batch's events; the events up
 * to the next mark belong to that batch, even across frames. Rules, in event order:
 * <ul>
 *   <li>{@code Batch(0, _)} (the sequencer's own events): applied, never dropped.
 *   <li>{@code Batch(g, s)}: a duplicate when {@code s} is at most the last batchSeq applied for {@code g};
 *       then its events are dropped; otherwise {@code s} becomes the last batchSeq of {@code g}.
 *   <li>Open, Data, HalfClose, Reset, Window, Restart: dropped while the current batch is a duplicate.
 *   <li>{@code GatewayLost(g)}: never dropped; forgets {@code g} (all gateways for -1), whose next
 *       incarnation counts from 1 again, and ends the current batch.
 *   <li>SnapshotRequest: never dropped.
 * </ul>
 * Frames with no marks (logs written before marks existed) pass unchanged.
 */
final class DuplicateBatchFilter {
    /** Bytes of one table entry in a snapshot: gateway u32, batchSeq i64. */
    private static final int ENTRY_BYTES = 4 + 8;

    private final BatchTable lastBatch = new BatchTable();
    private boolean skipping;
    private long duplicateBatches;
    private long duplicateEvents;

    /** The events that reach the guest, in order: marks are consumed, the events of duplicate batches dropped. */
    List<IngressEvent> filter(List<IngressEvent> events) {
        List<IngressEvent> kept = null;
        for (int i = 0; i < events.size(); i++) {
            IngressEvent e = events.get(i);
            boolean keep = admit(e);
            if (kept == null && !keep) {
                kept = new ArrayList<>(events.subList(0, i));
            } else if (kept != null && keep) {
                kept.add(e);
            }
        }
        return kept == null ? events : kept;
    }

    private boolean admit(IngressEvent e) {
        if (e instanceof IngressEvent.Batch mark) {
            enter(mark);
            return false;
        }
        if (e instanceof IngressEvent.GatewayLost lost) {
            lastBatch.forget(lost.gateway());
            skipping = false;
            return true;
        }
        if (e instanceof IngressEvent.SnapshotRequest) {
            return true;
        }
        if (skipping) {
            duplicateEvents++;
            return false;
        }
        return true;
    }

    private void enter(IngressEvent.Batch mark) {
        if (mark.gateway() == IngressEvent.Batch.SEQUENCER) {
            skipping = false;
            return;
        }
        skipping = !lastBatch.admit(mark.gateway(), mark.batchSeq());
        if (skipping) {
            duplicateBatches++;
        }
    }

    /** Duplicate batches dropped since genesis. */
    long duplicateBatches() {
        return duplicateBatches;
    }

    /** Events of duplicate batches dropped since genesis. */
    long duplicateEvents() {
        return duplicateEvents;
    }

    /** Table count u32, each gateway u32 and last batchSeq i64 in gateway order, skipping u8, the two counters i64. */
    void writeTo(DataOutputStream d) throws IOException {
        d.writeInt(lastBatch.size());
        for (Map.Entry<Integer, Long> e : lastBatch.entries().entrySet()) {
            d.writeInt(e.getKey());
            d.writeLong(e.getValue());
        }
        d.writeBoolean(skipping);
        d.writeLong(duplicateBatches);
        d.writeLong(duplicateEvents);
    }

    /** Reads what {@link #writeTo} wrote into this (fresh) filter; only the canonical form is accepted. */
    void readFrom(DataInputStream d) throws IOException {
        int count = d.readInt();
        if (count < 0 || (long) count * ENTRY_BYTES > d.available()) {
            throw new IOException("snapshot batch table of " + Integer.toUnsignedString(count) + " gateways does not fit in the "
                    + d.available() + " bytes that remain");
        }
        TreeMap<Integer, Long> table = new TreeMap<>();
        int previous = 0;
        for (int i = 0; i < count; i++) {
            int gateway = d.readInt();
            long batchSeq = d.readLong();
            if (gateway <= previous || gateway > ConnectionIds.MAX_GATEWAY) {
                throw new IOException("snapshot batch table entry " + i + " has gateway " + gateway
                        + " (gateways are 1.." + ConnectionIds.MAX_GATEWAY + ", in increasing order)");
            }
            if (batchSeq < 0) {
                throw new IOException("snapshot batch table has batchSeq " + batchSeq + " for gateway " + gateway);
            }
            table.put(gateway, batchSeq);
            previous = gateway;
        }
        int flag = d.readUnsignedByte();
        if (flag > 1) {
            throw new IOException("snapshot batch skipping flag is " + flag + ", not 0 or 1");
        }
        long batches = d.readLong();
        long events = d.readLong();
        if (batches < 0 || events < 0) {
            throw new IOException("snapshot duplicate counters are negative (" + batches + " batches, " + events + " events)");
        }
        lastBatch.replaceWith(new BatchTable(table));
        skipping = flag == 1;
        duplicateBatches = batches;
        duplicateEvents = events;
    }
}
