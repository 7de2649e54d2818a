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
 * and every member compares what it hears at the frames two or more members have a digest for. Replicas apply the same
 * committed frames deterministically, so at one frame every digest must be equal; when they are not, the members that
 * differ from the majority are named with the frame, once per (member, frame).
 *
 * <p>Pure: the caller feeds reports in ({@link #report}) and gets alarms out; the event-bus wiring is in the node.
 */
public final class MemberDigests {
    /** A member whose state differs from the majority's at {@code seq}. */
    public record Divergence(String app, long seq, String member, String digest, String majority, List<String> agreeing) {
        public String describe() {
            return app + ": DIVERGENCE at frame " + seq + ": member " + member + " has state digest " + shorten(digest)
                    + ", the majority (" + String.join(", ", agreeing) + ") has " + shorten(majority) + ". Fix: remove that"
                    + " member's data directory of the app and restart it, so it joins from the leader's snapshot";
        }
    }

    private final String app;
    private final Map<String, SortedMap<Long, String>> byMember = new HashMap<>();
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

    /** Takes one member's report; returns the new divergences it reveals (each said once). */
    public synchronized List<Divergence> report(JsonObject message) {
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
        byMember.put(member, digests);
        return compare();
    }

    /** Forgets a member that left (its old digests must not vote). */
    public synchronized void forget(String member) {
        byMember.remove(member);
    }

    private List<Divergence> compare() {
        Map<Long, Map<String, String>> bySeq = new TreeMap<>();
        byMember.forEach((member, digests) -> digests.forEach((seq, digest) ->
                bySeq.computeIfAbsent(seq, s -> new TreeMap<>()).put(member, digest)));
        List<Divergence> found = new ArrayList<>();
        for (var e : bySeq.entrySet()) {
            Map<String, String> at = e.getValue();
            if (at.size() < 2) {
                continue;
            }
            if (e.getKey() > highestCompared) {
                highestCompared = e.getKey();
                compared++;
            }
            Map<String, List<String>> groups = new HashMap<>();
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
                if (said.add(m.getKey() + "@" + e.getKey())) {
                    divergences++;
                    Divergence dv = new Divergence(app, e.getKey(), m.getKey(), m.getValue(), clear ? majority : "(no majority)",
                            clear ? agreeing : List.of());
                    last = dv.describe();
                    found.add(dv);
                }
            }
        }
        return found;
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
