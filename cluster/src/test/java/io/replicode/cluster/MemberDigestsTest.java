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

    @Test
    void equal_digests_at_common_frames_raise_nothing() {
        MemberDigests md = new MemberDigests("kv");
        assertEquals(List.of(), md.report(MemberDigests.message("a", digests(100, "aa", 200, "bb"))));
        assertEquals(List.of(), md.report(MemberDigests.message("b", digests(200, "bb", 300, "cc"))));
        assertEquals(1L, md.status().getLong("framesCompared"));
        assertEquals(0L, md.status().getLong("divergences"));
    }

    @Test
    void the_member_that_differs_from_the_majority_is_named_with_the_frame_once() {
        MemberDigests md = new MemberDigests("kv");
        md.report(MemberDigests.message("a", digests(100, "aa", 200, "bb")));
        md.report(MemberDigests.message("b", digests(100, "aa", 200, "bb")));
        List<MemberDigests.Divergence> found = md.report(MemberDigests.message("c", digests(100, "aa", 200, "XX")));
        assertEquals(1, found.size());
        MemberDigests.Divergence d = found.get(0);
        assertEquals(200, d.seq());
        assertEquals("c", d.member());
        assertEquals(List.of("a", "b"), d.agreeing());
        assertTrue(d.describe().contains("frame 200") && d.describe().contains("Fix:"), d.describe());
        // The same report again says nothing new.
        assertEquals(List.of(), md.report(MemberDigests.message("c", digests(100, "aa", 200, "XX"))));
        assertEquals(1L, md.status().getLong("divergences"));
    }

    @Test
    void two_members_that_disagree_are_both_named_since_no_majority_exists() {
        MemberDigests md = new MemberDigests("kv");
        md.report(MemberDigests.message("a", digests(100, "aa")));
        List<MemberDigests.Divergence> found = md.report(MemberDigests.message("b", digests(100, "bb")));
        assertEquals(2, found.size());
        assertEquals("(no majority)", found.get(0).majority());
    }
}
