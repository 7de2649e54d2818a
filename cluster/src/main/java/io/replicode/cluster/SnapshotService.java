package io.replicode.cluster;

import io.replicode.nat.Addresses;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Snapshots streamed between cluster members over the event bus, so a member that joins (or fell behind the frame
 * ring) starts from a peer's newest snapshot and replays only the frames after it: its join time does not grow with
 * the app's history.
 *
 * <p>Each member serves its newest snapshot of an app on {@link Addresses#snapshots}: an {@code offer} names the
 * snapshot's frame seq and size and carries the encoding of that frame (the joiner restarts its replay log with it,
 * so the chain continues); {@code chunk} requests then fetch the bytes, at most {@value #CHUNK_BYTES} per message.
 * The offered bytes are held in memory until the next offer, so a chunk never comes from a newer snapshot. The
 * snapshot's own header (magic, CRC32C, lengths) is checked by the machine that restores it.
 */
public final class SnapshotService {
    public static final int CHUNK_BYTES = 1 << 20;
    private static final long TIMEOUT_MS = 10_000;

    /** A snapshot a member offers: its frame, the encoding of that frame, its size, and who offers it. */
    public record Offer(long seq, byte[] frame, int size, String member) {}

    /** A snapshot fetched whole from a peer. */
    public record Fetched(long seq, Frame frame, byte[] frameBytes, byte[] snapshot, String member) {}

    private SnapshotService() {}

    /**
     * Serves the newest snapshot among {@code stores} (this member's replicas of {@code app}), with its frame read
     * from {@code log}. Returns the consumer (unregister it to stop serving).
     */
    public static MessageConsumer<JsonObject> serve(Vertx vertx, String memberUuid, String app, Collection<SnapshotStore> stores,
                                                    ReplayLog log) {
        Object lock = new Object();
        SnapshotStore.Stored[] held = new SnapshotStore.Stored[1];
        return vertx.eventBus().<JsonObject>consumer(Addresses.snapshots(memberUuid, app), m -> {
            JsonObject q = m.body();
            String op = q == null ? null : q.getString("op");
            if ("offer".equals(op)) {
                vertx.executeBlocking(() -> {
                    Optional<SnapshotStore.Stored> newest = newest(stores);
                    if (newest.isEmpty()) {
                        return new JsonObject().put("seq", 0);
                    }
                    long seq = newest.get().seq();
                    if (seq < log.firstSeq() || seq > log.lastSeq()) {
                        return new JsonObject().put("seq", 0).put("why", "frame " + seq + " is not in this member's log");
                    }
                    Frame f = log.read(seq, 1).get(0);
                    synchronized (lock) {
                        held[0] = newest.get();
                    }
                    return new JsonObject().put("seq", seq).put("size", newest.get().bytes().length)
                            .put("frame", Base64.getEncoder().encodeToString(FrameCodec.encode(f)));
                }, false).onComplete(ar -> {
                    if (ar.succeeded()) {
                        m.reply(ar.result());
                    } else {
                        m.fail(500, "snapshot offer of '" + app + "' failed: " + ar.cause().getMessage());
                    }
                });
            } else if ("chunk".equals(op)) {
                long seq = q.getLong("seq", -1L);
                int offset = q.getInteger("offset", -1);
                SnapshotStore.Stored s;
                synchronized (lock) {
                    s = held[0];
                }
                if (s == null || s.seq() != seq || offset < 0 || offset > s.bytes().length) {
                    m.fail(404, "no snapshot at frame " + seq + " offset " + offset + " held for '" + app
                            + "'. Fix: ask for an offer first");
                    return;
                }
                int n = Math.min(CHUNK_BYTES, s.bytes().length - offset);
                m.reply(Buffer.buffer().appendBytes(s.bytes(), offset, n));
            } else {
                m.fail(400, "unknown snapshot request " + q + ". Fix: send {\"op\":\"offer\"} or {\"op\":\"chunk\",...}");
            }
        });
    }

    private static Optional<SnapshotStore.Stored> newest(Collection<SnapshotStore> stores) {
        SnapshotStore.Stored best = null;
        for (SnapshotStore s : stores) {
            Optional<SnapshotStore.Stored> l = s.latest();
            if (l.isPresent() && (best == null || l.get().seq() > best.seq())) {
                best = l.get();
            }
        }
        return Optional.ofNullable(best);
    }

    /** Asks every member in {@code peers} (UUIDs) for its offer; the newest one, if any member has a snapshot. */
    public static Future<Optional<Offer>> newestOffer(Vertx vertx, String app, Collection<String> peers) {
        List<Future<Optional<Offer>>> asks = new ArrayList<>();
        DeliveryOptions opts = new DeliveryOptions().setSendTimeout(TIMEOUT_MS);
        for (String peer : peers) {
            asks.add(vertx.eventBus().<JsonObject>request(Addresses.snapshots(peer, app), new JsonObject().put("op", "offer"), opts)
                    .map(r -> {
                        JsonObject o = r.body();
                        long seq = o.getLong("seq", 0L);
                        return seq <= 0 ? Optional.<Offer>empty()
                                : Optional.of(new Offer(seq, Base64.getDecoder().decode(o.getString("frame")), o.getInteger("size"), peer));
                    })
                    .recover(t -> Future.succeededFuture(Optional.empty())));
        }
        return Future.join(asks).map(v -> {
            Offer best = null;
            for (Future<Optional<Offer>> f : asks) {
                Optional<Offer> o = f.result();
                if (o.isPresent() && (best == null || o.get().seq() > best.seq())) {
                    best = o.get();
                }
            }
            return Optional.ofNullable(best);
        });
    }

    /** Fetches the offered snapshot chunk by chunk. */
    public static Future<Fetched> fetch(Vertx vertx, String app, Offer offer) {
        Frame frame;
        try {
            frame = FrameCodec.decode(offer.frame());
        } catch (RuntimeException e) {
            return Future.failedFuture(new IllegalStateException("member " + offer.member() + " offered a snapshot of '" + app
                    + "' with a frame that does not decode: " + e.getMessage()));
        }
        if (frame.seq() != offer.seq() || !frame.app().equals(app)) {
            return Future.failedFuture(new IllegalStateException("member " + offer.member() + " offered the snapshot at frame "
                    + offer.seq() + " of '" + app + "' with frame " + frame.seq() + " of '" + frame.app() + "'"));
        }
        byte[] out = new byte[offer.size()];
        return fetchFrom(vertx, app, offer, out, 0)
                .map(v -> new Fetched(offer.seq(), frame, offer.frame(), out, offer.member()));
    }

    private static Future<Void> fetchFrom(Vertx vertx, String app, Offer offer, byte[] out, int offset) {
        if (offset >= out.length) {
            return Future.succeededFuture();
        }
        JsonObject q = new JsonObject().put("op", "chunk").put("seq", offer.seq()).put("offset", offset);
        return vertx.eventBus().<Buffer>request(Addresses.snapshots(offer.member(), app), q,
                        new DeliveryOptions().setSendTimeout(TIMEOUT_MS))
                .compose(r -> {
                    Buffer b = r.body();
                    if (b.length() == 0 || offset + b.length() > out.length) {
                        return Future.failedFuture(new IllegalStateException("member " + offer.member() + " sent a chunk of "
                                + b.length() + " bytes at offset " + offset + " of a " + out.length + "-byte snapshot"));
                    }
                    b.getBytes(0, b.length(), out, offset);
                    return fetchFrom(vertx, app, offer, out, offset + b.length());
                });
    }
}
