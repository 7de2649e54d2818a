package io.replicode.cluster;

import static io.replicode.cluster.CatchUpWatch.Change.BEHIND;
import static io.replicode.cluster.CatchUpWatch.Change.CAUGHT_UP;
import static io.replicode.cluster.CatchUpWatch.Change.NONE;
import static io.replicode.cluster.CatchUpWatch.Change.NO_REPORTS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CatchUpWatchTest {
    @Test
    void a_follower_lagging_a_little_is_not_behind_and_one_far_behind_is_until_it_is_close_again() {
        CatchUpWatch w = new CatchUpWatch();
        assertEquals(NONE, w.observe(CatchUpWatch.BEHIND_FRAMES, true, 0));
        assertFalse(w.behind());
        assertEquals(BEHIND, w.observe(CatchUpWatch.BEHIND_FRAMES + 1, true, 500));
        assertTrue(w.behind());
        assertEquals(NONE, w.observe(CatchUpWatch.CAUGHT_UP_FRAMES + 1, true, 1_000), "hysteresis: not yet close enough");
        assertTrue(w.behind());
        assertEquals(CAUGHT_UP, w.observe(CatchUpWatch.CAUGHT_UP_FRAMES, true, 1_500));
        assertFalse(w.behind());
    }

    @Test
    void a_member_marked_behind_waits_for_reports_only_once_it_can_hear_them() {
        CatchUpWatch w = new CatchUpWatch();
        assertTrue(w.markBehind(0));
        assertFalse(w.markBehind(10), "already behind");
        // Still starting for longer than the wait: that time does not count.
        assertEquals(NONE, w.observe(-1, false, 60_000));
        assertEquals(NONE, w.observe(-1, true, 60_000 + CatchUpWatch.NO_REPORTS_MS));
        assertTrue(w.behind());
        assertEquals(NO_REPORTS, w.observe(-1, true, 60_001 + CatchUpWatch.NO_REPORTS_MS));
        assertFalse(w.behind());
    }

    @Test
    void a_report_far_ahead_keeps_a_marked_member_behind() {
        CatchUpWatch w = new CatchUpWatch();
        w.markBehind(0);
        assertEquals(NONE, w.observe(5_000, true, 20_000));
        assertTrue(w.behind());
    }
}
