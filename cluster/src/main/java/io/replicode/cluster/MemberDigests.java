package io.replicode.cluster;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Live divergence detection across members, as {@code DivergenceMonitor} does between the replicas of one node:
 * every member publishes its replica's recent full-state digests (frame -> digest) of an app every couple of seconds,
 * and every member compares what it hears. Replicas apply the same committed frames deterministically, so at one frame
 * every digest must be equal; when they are not, the members that differ from the majority are named with the frame,
 * once per (member, frame).
 *
 * <p>A frame is judged only once it is settled: every member heard from lately has a digest there or has reported
 * past it. Reports arrive every couple of seconds and at different times, so a frame that only two of three members
 * have reached yet would otherwise be judged without the third, and a disagreement between two has no majority (both
 * would be named, and the one that is wrong would not be named again when the third arrives). Reports older than
 * {@link #STALE_MS} (a member that left or stopped) neither vote nor hold frames back.
 *
 * <p>Pure: the caller feeds reports in ({@link #report}) with its clock and gets alarms out; the event-bus wiring is in
 * the node.
 */
public final class MemberDigests {
    /** How long a member's last report counts: a few report periods. */
    public static final long STALE_MS = 10_000;

    /** A member whose state differs from the majority's at {@code seq} ({@code agreeing} empty: there is no majority). */
    public record Divergence(String app, long seq, String member, String digest, String majority, List<String> agreeing) {
        public String describe() {
            if (agreeing.isEmpty()) {
                return app + ": DIVERGENCE at frame " + seq + ": member " + member + " has state digest " + shorten(digest)
                        + " and no majority of the members reporting agrees on one digest there. Fix: compare the members'"
                        + " digest logs with `replicode replay verify --digests` to find the replica that is wrong, then remove"
                        + " that member's data directory of the app and restart it, so it joins from the leader's snapshot";
            }
            return app + ": DIVERGENCE at frame " + seq + ": member " + member + " has state digest " + shorten(digest)
                    + ", the majority (" + String.join(", ", agreeing) + ") has " + shorten(majority) + "; that member"
                    + " rebuilds its replicas from a healthy member's snapshot. Fix: if the alarm repeats for it, remove that member's"
                    + " data directory of the app and restart it, so it joins from the leader's snapshot";
        }
    }

    /** A member's report: its recent state digests, and the last frame its replica applied (-1: not said). */
    private record Report(SortedMap<Long, String> digests, long applied, long receivedMs) {}

    private final String app;
    private final Map<String, Report> byMember = new HashMap<>();
    private final Set<String> said = new HashSet<>();
    private long compared;
    private long highestCompared;
    private long divergences;
    private String last = "";

    public MemberDigests(String app) {
        this.app = app;
    }

    /** The digest message a member publishes: {@code {"member": id, "digests": {"<seq>": "<hex>", ...}}}. */
    public static JsonObject message(String member, SortedMap<Long, String> digests) {
        JsonObject d = new JsonObject();
        digests.forEach((seq, digest) -> d.put(Long.toString(seq), digest));
        return new JsonObject().put("member", member).put("digests", d);
    }

    /**
     * As {@link #message(String, SortedMap)}, with the last frame the member's replica applied ({@code "applied"}): state
     * digests come every 100 frames or less often (every 800 for a 10 MB memory), so the digests alone say where a
     * member is only to within that many frames.
     */
    public static JsonObject message(String member, SortedMap<Long, String> digests, long applied) {
        return message(member, digests).put("applied", applied);
    }

    /** Takes one member's report, heard at {@code nowMs}; returns the new divergences it reveals (each said once). */
    public synchronized List<Divergence> report(JsonObject message, long nowMs) {
        String member = message.getString("member");
        JsonObject d = message.getJsonObject("digests");
        if (member == null || d == null) {
            return List.of();
        }
        SortedMap<Long, String> digests = new TreeMap<>();
        for (String k : d.fieldNames()) {
            try {
                digests.put(Long.parseLong(k), d.getString(k));
            } catch (NumberFormatException | ClassCastException e) {
                return List.of();
            }
        }
        long applied;
        try {
            Long a = message.getLong("applied");
            applied = a == null ? -1 : a;
        } catch (ClassCastException e) {
            return List.of();
        }
        byMember.put(member, new Report(digests, applied, nowMs));
        return compare(nowMs);
    }

    /**
     * The highest frame another member than {@code me} reported, among reports heard within {@link #STALE_MS} of
     * {@code nowMs}: the frame its replica had applied, or (from a member that does not say it) its newest state digest's;
     * -1 when there is none. Reports come every 2 s, so this trails the other members by about that much.
     */
    public synchronized long highestFrameOfOthers(String me, long nowMs) {
        long highest = -1;
        for (var e : byMember.entrySet()) {
            Report r = e.getValue();
            if (!e.getKey().equals(me) && nowMs - r.receivedMs() <= STALE_MS) {
                if (!r.digests().isEmpty()) {
                    highest = Math.max(highest, r.digests().lastKey());
                }
                highest = Math.max(highest, r.applied());
            }
        }
        return highest;
    }

    /** Forgets a member's digests (it left, or its replicas were rebuilt: its old digests must not vote). */
    public synchronized void forget(String member) {
        byMember.remove(member);
    }

    private List<Divergence> compare(long nowMs) {
        Map<String, SortedMap<Long, String>> live = new TreeMap<>();
        byMember.forEach((member, r) -> {
            if (nowMs - r.receivedMs() <= STALE_MS && !r.digests().isEmpty()) {
                live.put(member, r.digests());
            }
        });
        Map<Long, Map<String, String>> bySeq = new TreeMap<>();
        live.forEach((member, digests) -> digests.forEach((seq, digest) ->
                bySeq.computeIfAbsent(seq, s -> new TreeMap<>()).put(member, digest)));
        List<Divergence> found = new ArrayList<>();
        for (var e : bySeq.entrySet()) {
            long seq = e.getKey();
            Map<String, String> at = e.getValue();
            if (at.size() < 2 || !settled(seq, live)) {
                continue;
            }
            if (seq > highestCompared) {
                highestCompared = seq;
                compared++;
            }
            Map<String, List<String>> groups = new TreeMap<>();
            at.forEach((member, digest) -> groups.computeIfAbsent(digest, k -> new ArrayList<>()).add(member));
            if (groups.size() == 1) {
                continue;
            }
            String majority = null;
            for (var g : groups.entrySet()) {
                if (majority == null || g.getValue().size() > groups.get(majority).size()) {
                    majority = g.getKey();
                }
            }
            List<String> agreeing = groups.get(majority);
            boolean clear = agreeing.size() * 2 > at.size();
            for (var m : at.entrySet()) {
                if (m.getValue().equals(majority) && clear) {
                    continue;
                }
                if (said.add(m.getKey() + "@" + seq)) {
                    divergences++;
                    Divergence dv = new Divergence(app, seq, m.getKey(), m.getValue(), clear ? majority : "",
                            clear ? List.copyOf(agreeing) : List.of());
                    last = dv.describe();
                    found.add(dv);
                }
            }
        }
        return found;
    }

    /** Every live member has a digest at {@code seq} or has reported past it. */
    private static boolean settled(long seq, Map<String, SortedMap<Long, String>> live) {
        for (SortedMap<Long, String> digests : live.values()) {
            if (!digests.containsKey(seq) && digests.lastKey() < seq) {
                return false;
            }
        }
        return true;
    }

    /** What an operator sees. */
    public synchronized JsonObject status() {
        return new JsonObject().put("membersReporting", byMember.size()).put("framesCompared", compared).put("highestFrameCompared", highestCompared)
                .put("divergences", divergences).put("lastDivergence", last);
    }

    private static String shorten(String digest) {
        return digest == null ? "?" : digest.substring(0, Math.min(12, digest.length())) + "…";
    }
}
