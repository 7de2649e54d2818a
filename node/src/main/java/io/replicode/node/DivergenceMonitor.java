package io.replicode.node;

import io.replicode.nat.Addresses;
import io.replicode.replay.DigestLog;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Compares, seq by seq, what the replicas of one app computed (each frame's outputs digest and, every K
 * frames, the state digest). When they disagree, the replicas outside the largest agreeing group are
 * diverged: the alarm is logged (app, seq, replicas, both digests), counted and shown in /status, the
 * gateways stop releasing those replicas' outputs, and the node rebuilds them from a healthy replica.
 */
final class DivergenceMonitor implements ReplicaSet.Changes {
    /** Seqs waiting for the rest of their replicas' digests; beyond this the oldest are given up. */
    private static final int MAX_PENDING_SEQS = 100_000;

    private final Vertx vertx;
    private final String app;
    /**
     * The replicas compared, each with the first seq it is compared at: 0 for those the app started with; for one added
     * at run time, {@link #JOINING} until its first live digest, then that seq plus {@link #JOIN_SETTLE_FRAMES} (the
     * frames just before may already be compared without it).
     */
    private final Map<Integer, Long> replicas = new java.util.TreeMap<>();
    private static final long JOINING = Long.MAX_VALUE;
    static final long JOIN_SETTLE_FRAMES = 64;
    private final PrintWriter out;
    private final java.util.function.ObjLongConsumer<Integer> rebuild;
    private final TreeMap<Long, Map<Integer, DigestLog.FrameDigest>> pending = new TreeMap<>();
    private final List<JsonObject> alarms = new ArrayList<>();
    /** Replicas being rebuilt: their digests are ignored and comparisons wait only for the others. */
    private final java.util.Set<Integer> excluded = new java.util.TreeSet<>();
    private MessageConsumer<Buffer> consumer;
    private long compared;
    private long uncompared;
    private long malformed;
    private long divergences;

    /** Replica r of this process reports as {@code idBase + r} (ids are unique in a cluster); alarms name ids. */
    private final int idBase;

    DivergenceMonitor(Vertx vertx, String app, int replicas, PrintWriter out, java.util.function.ObjLongConsumer<Integer> rebuild) {
        this(vertx, app, replicas, 0, out, rebuild);
    }

    /**
     * Compares replicas 1..{@code replicas} of this process, which report as {@code idBase + r}; {@code rebuild} gets the
     * diverged replica's number r and the frame.
     */
    DivergenceMonitor(Vertx vertx, String app, int replicas, int idBase, PrintWriter out,
                      java.util.function.ObjLongConsumer<Integer> rebuild) {
        this.vertx = vertx;
        this.app = app;
        this.idBase = idBase;
        for (int r = 1; r <= replicas; r++) {
            this.replicas.put(idBase + r, 0L);
        }
        this.out = out;
        this.rebuild = rebuild;
        this.context = vertx.getOrCreateContext();
    }

    /** Where rebuilds start (see {@link #report}). */
    private final io.vertx.core.Context context;

    /** Counts divergences and compared frames of the app into {@code registry}. */
    void registerMeters(io.micrometer.core.instrument.MeterRegistry registry) {
        io.micrometer.core.instrument.FunctionCounter.builder("replicode.divergences", this, m -> m.count(true))
                .description("Replicas found to differ from the majority of their app's replicas (each is rebuilt)")
                .tag("app", app).register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("replicode.frames.compared", this, m -> m.count(false))
                .description("Frames whose replicas' digests were compared").tag("app", app).register(registry);
    }

    private synchronized long count(boolean divergences) {
        return divergences ? this.divergences : compared;
    }

    void start() {
        consumer = vertx.eventBus().consumer(Addresses.digests(app), m -> onDigest(m.body()));
    }

    /** A digest sent on the event bus ({@code Addresses.digests}): a replica id, then a digest log record's payload. */
    private void onDigest(Buffer body) {
        int replica;
        DigestLog.FrameDigest d;
        try {
            ByteBuffer b = ByteBuffer.wrap(body.getBytes());
            replica = b.getInt();
            byte[] payload = new byte[b.remaining()];
            b.get(payload);
            d = DigestLog.decode(payload, java.nio.file.Path.of("(live digest from replica " + replica + ")"), 0);
        } catch (RuntimeException e) {
            synchronized (this) {
                malformed++;
            }
            return;
        }
        report(replica, d);
    }

    /**
     * What {@code replica} computed for frame {@code d.seq()}, on the replica's own thread (the node's replicas report
     * here directly: a message per replica and frame woke an event loop three times per frame). The frame is compared
     * once every replica expected at it has reported; a divergence found is acted on at once (alarm, gateways told, the
     * replica no longer compared), and the rebuild it asks for starts on an event loop.
     */
    synchronized void report(int replica, DigestLog.FrameDigest d) {
        Long since = replicas.get(replica);
        if (since == null || excluded.contains(replica)) {
            return;
        }
        if (since == JOINING) {
            replicas.put(replica, d.seq() + JOIN_SETTLE_FRAMES);
            return;
        }
        if (d.seq() < since) {
            return;
        }
        Map<Integer, DigestLog.FrameDigest> bySeq = pending.computeIfAbsent(d.seq(), s -> new LinkedHashMap<>());
        bySeq.put(replica, d);
        if (bySeq.size() >= expectedAt(d.seq())) {
            pending.remove(d.seq());
            compare(d.seq(), bySeq);
        }
        while (pending.size() > MAX_PENDING_SEQS) {
            pending.pollFirstEntry();
            uncompared++;
        }
    }

    private void compare(long seq, Map<Integer, DigestLog.FrameDigest> bySeq) {
        compared++;
        // Group replicas by what they computed; the largest group is taken as right.
        List<List<Integer>> groups = new ArrayList<>();
        List<DigestLog.FrameDigest> heads = new ArrayList<>();
        for (var e : bySeq.entrySet()) {
            int g = 0;
            while (g < heads.size() && !heads.get(g).agreesWith(e.getValue())) {
                g++;
            }
            if (g == heads.size()) {
                heads.add(e.getValue());
                groups.add(new ArrayList<>());
            }
            groups.get(g).add(e.getKey());
        }
        if (groups.size() == 1) {
            return;
        }
        int majority = 0;
        for (int g = 1; g < groups.size(); g++) {
            if (groups.get(g).size() > groups.get(majority).size()) {
                majority = g;
            }
        }
        divergences++;
        for (int g = 0; g < groups.size(); g++) {
            if (g == majority) {
                continue;
            }
            for (int replica : groups.get(g)) {
                alarm(seq, replica, heads.get(g), groups.get(majority), heads.get(majority));
            }
        }
    }

    private void alarm(long seq, int replica, DigestLog.FrameDigest bad, List<Integer> healthy, DigestLog.FrameDigest good) {
        HexFormat hex = HexFormat.of();
        JsonObject alarm = new JsonObject()
                .put("app", app)
                .put("seq", seq)
                .put("replica", replica)
                .put("healthyReplicas", new JsonArray(List.copyOf(healthy)))
                .put("outputsDigest", hex.formatHex(bad.outputsDigest()))
                .put("expectedOutputsDigest", hex.formatHex(good.outputsDigest()))
                .put("stateDigest", bad.stateDigest() == null ? null : hex.formatHex(bad.stateDigest()))
                .put("expectedStateDigest", good.stateDigest() == null ? null : hex.formatHex(good.stateDigest()))
                .put("at", Instant.now().toString());
        alarms.add(alarm);
        if (alarms.size() > 20) {
            alarms.remove(0);
        }
        out.println("replicode: DIVERGENCE in app '" + app + "' at frame " + seq + ": replica " + replica
                + " produced outputs " + hex.formatHex(bad.outputsDigest()).substring(0, 16) + "…, replicas " + healthy
                + " produced " + hex.formatHex(good.outputsDigest()).substring(0, 16) + "…"
                + (bad.stateDigest() != null && good.stateDigest() != null && !java.util.Arrays.equals(bad.stateDigest(), good.stateDigest())
                        ? " (state digests differ too)" : "")
                + "; its outputs are no longer released and it is rebuilt from a healthy replica");
        out.flush();
        vertx.eventBus().publish(Addresses.diverged(app), new JsonObject().put("replica", replica).put("diverged", true)
                .put("seq", seq));
        if (excluded.add(replica)) {
            // Seqs that only waited for the excluded replica can be compared now.
            for (Long s : List.copyOf(pending.keySet())) {
                Map<Integer, DigestLog.FrameDigest> bySeq = pending.get(s);
                bySeq.remove(replica);
                if (bySeq.size() >= expectedAt(s)) {
                    pending.remove(s);
                    compare(s, bySeq);
                }
            }
            // Off the reporting replica's thread: a rebuild undeploys a replica, maybe this one.
            context.runOnContext(v -> rebuild.accept(replica - idBase, seq));
        }
    }

    /** Replicas whose digests a comparison at {@code seq} waits for. */
    private int expectedAt(long seq) {
        int n = 0;
        for (var e : replicas.entrySet()) {
            if (e.getValue() <= seq && !excluded.contains(e.getKey())) {
                n++;
            }
        }
        return n;
    }

    /** A replica added at run time: compared from shortly after its first live digest. */
    @Override
    public synchronized void added(int r) {
        replicas.put(idBase + r, JOINING);
    }

    /** A replica removed at run time: no longer waited for; comparisons that only waited for it happen now. */
    @Override
    public synchronized void removed(int r) {
        int replica = idBase + r;
        replicas.remove(replica);
        excluded.remove(replica);
        for (Long s : List.copyOf(pending.keySet())) {
            Map<Integer, DigestLog.FrameDigest> bySeq = pending.get(s);
            bySeq.remove(replica);
            if (bySeq.isEmpty()) {
                pending.remove(s);
            } else if (bySeq.size() >= expectedAt(s)) {
                pending.remove(s);
                compare(s, bySeq);
            }
        }
    }

    /** The replica was rebuilt from a healthy one: it is compared again and its outputs may be released. */
    synchronized void trusted(int r) {
        int replica = idBase + r;
        excluded.remove(replica);
        vertx.eventBus().publish(Addresses.diverged(app), new JsonObject().put("replica", replica).put("diverged", false));
    }

    synchronized JsonObject status() {
        return new JsonObject()
                .put("framesCompared", compared)
                .put("divergences", divergences)
                .put("framesNotCompared", uncompared)
                .put("malformedDigests", malformed)
                .put("waitingSeqs", pending.size())
                .put("rebuilding", new JsonArray(List.copyOf(excluded)))
                .put("alarms", new JsonArray(List.copyOf(alarms)));
    }

    void stop() {
        if (consumer != null) {
            consumer.unregister();
        }
    }
}
