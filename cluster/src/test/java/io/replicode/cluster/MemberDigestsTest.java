package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class MemberDigestsTest {
    private static TreeMap<Long, String> digests(Object... seqAndDigest) {
        TreeMap<Long, String> m = new TreeMap<>();
        for (int i = 0; i < seqAndDigest.length; i += 2) {
            m.put(((Number) seqAndDigest[i]).longValue(), (String) seqAndDigest[i + 1]);
        }
        return m;
    }

    private static List<MemberDigests.Divergence> report(MemberDigests md, String member, long nowMs, Object... seqAndDigest) {
        return md.report(MemberDigests.message(member, digests(seqAndDigest)), nowMs);
    }

    @Test
    void how_far_the_others_are_counts_only_other_members_heard_lately() {
        MemberDigests md = new MemberDigests("kv");
        assertEquals(-1, md.highestFrameOfOthers("me", 0));
        report(md, "me", 0, 5_000, "aa");
        assertEquals(-1, md.highestFrameOfOthers("me", 0), "its own report does not count");
        report(md, "a", 0, 1_900, "bb", 2_000, "cc");
        report(md, "b", 5_000, 2_500, "dd");
        assertEquals(2_500, md.highestFrameOfOthers("me", 5_000));
        assertEquals(2_500, md.highestFrameOfOthers("me", MemberDigests.STALE_MS + 1), "a's report is stale by then");
        assertEquals(-1, md.highestFrameOfOthers("me", 5_000 + MemberDigests.STALE_MS + 1));
    }

    /** Digests are sparse (every 800 frames for a 10 MB memory): how far a member is comes from the frame it applied. */
    @Test
    void the_applied_frame_a_member_reports_counts_beyond_its_newest_digest() {
        MemberDigests md = new MemberDigests("kv");
        md.report(MemberDigests.message("a", digests(800, "aa"), 1_523), 0);
        assertEquals(1_523, md.highestFrameOfOthers("me", 0));
        md.report(MemberDigests.message("b", digests(), 2_001), 0);
        assertEquals(2_001, md.highestFrameOfOthers("me", 0), "a report with no digest yet still says where it is");
        md.report(MemberDigests.message("c", digests(2_400, "cc")), 0);
        assertEquals(2_400, md.highestFrameOfOthers("me", 0), "a member that does not say its frame: its newest digest");
        assertTrue(md.report(new io.vertx.core.json.JsonObject().put("member", "d").put("digests",
                new io.vertx.core.json.JsonObject()).put("applied", "soon"), 0).isEmpty(), "a malformed report is ignored");
        assertEquals(2_400, md.highestFrameOfOthers("me", 0));
    }

    @Test
    void equal_digests_at_common_frames_raise_nothing() {
        MemberDigests md = new MemberDigests("kv");
        assertEquals(List.of(), report(md, "a", 0, 100, "aa", 200, "bb"));
        assertEquals(List.of(), report(md, "b", 0, 200, "bb", 300, "cc"));
        assertEquals(1L, md.status().getLong("framesCompared"));
        assertEquals(0L, md.status().getLong("divergences"));
    }

    @Test
    void the_member_that_differs_from_the_majority_is_named_with_the_frame_once() {
        MemberDigests md = new MemberDigests("kv");
        report(md, "a", 0, 100, "aa", 200, "bb");
        report(md, "b", 0, 100, "aa", 200, "bb");
        List<MemberDigests.Divergence> found = report(md, "c", 0, 100, "aa", 200, "XX");
        assertEquals(1, found.size());
        MemberDigests.Divergence d = found.get(0);
        assertEquals(200, d.seq());
        assertEquals("c", d.member());
        assertEquals(List.of("a", "b"), d.agreeing());
        assertTrue(d.describe().contains("frame 200") && d.describe().contains("rebuilds its replicas") && d.describe().contains("Fix:"),
                d.describe());
        // The same report again says nothing new.
        assertEquals(List.of(), report(md, "c", 0, 100, "aa", 200, "XX"));
        assertEquals(1L, md.status().getLong("divergences"));
    }

    @Test
    void two_members_that_disagree_are_both_named_since_no_majority_exists() {
        MemberDigests md = new MemberDigests("kv");
        report(md, "a", 0, 100, "aa");
        List<MemberDigests.Divergence> found = report(md, "b", 0, 100, "bb");
        assertEquals(2, found.size());
        assertEquals(List.of(), found.get(0).agreeing());
        assertTrue(found.get(0).describe().contains("no majority"), found.get(0).describe());
    }

    @Test
    void a_frame_waits_for_a_member_that_has_not_reported_that_far_so_the_majority_decides() {
        MemberDigests md = new MemberDigests("kv");
        report(md, "a", 0, 100, "aa");
        report(md, "b", 0, 100, "aa");
        report(md, "c", 0, 100, "aa");
        // a and c reach frame 200 and differ; b's last report ends at 100: no one is named yet.
        assertEquals(List.of(), report(md, "a", 2_000, 100, "aa", 200, "bb"));
        assertEquals(List.of(), report(md, "c", 2_000, 100, "aa", 200, "XX"));
        // b's report at 200 settles it: c alone is named, with a and b agreeing.
        List<MemberDigests.Divergence> found = report(md, "b", 2_500, 100, "aa", 200, "bb");
        assertEquals(1, found.size());
        assertEquals("c", found.get(0).member());
        assertEquals(List.of("a", "b"), found.get(0).agreeing());
    }

    @Test
    void a_member_that_stopped_reporting_neither_votes_nor_holds_frames_back() {
        MemberDigests md = new MemberDigests("kv");
        report(md, "gone", 0, 100, "aa");
        report(md, "a", MemberDigests.STALE_MS + 1, 100, "aa", 200, "bb");
        report(md, "b", MemberDigests.STALE_MS + 1, 100, "aa", 200, "bb");
        List<MemberDigests.Divergence> found = report(md, "c", MemberDigests.STALE_MS + 1, 100, "aa", 200, "XX");
        assertEquals(1, found.size());
        assertEquals("c", found.get(0).member());
        // A member forgotten (rebuilt) is judged again on its next report only.
        md.forget("c");
        assertEquals(List.of(), report(md, "c", MemberDigests.STALE_MS + 2, 300, "cc"));
    }
}
