package io.replicode.launcher.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameBatcherTest {
    private static final byte[] ENTROPY = new byte[32];

    @Test
    void seq_starts_at_1_without_gaps_and_time_never_decreases() {
        FrameBatcher b = new FrameBatcher("app", 10, 1_000);
        Frame first = b.cut(500, ENTROPY);
        Frame second = b.cut(2_000, ENTROPY);
        Frame third = b.cut(1_500, ENTROPY);
        assertEquals(List.of(1L, 2L, 3L), List.of(first.seq(), second.seq(), third.seq()));
        assertEquals(1_000, first.timeNs(), "never before genesis");
        assertEquals(2_000, second.timeNs());
        assertEquals(2_000, third.timeNs(), "the clock went back: time holds");
        assertTrue(first.events().isEmpty(), "a frame without events is a tick");
    }

    @Test
    void a_frame_takes_at_most_max_events_oldest_first() {
        FrameBatcher b = new FrameBatcher("app", 2, 0);
        b.add(new IngressEvent.Open(1, "main"));
        assertFalse(b.isFull());
        b.add(new IngressEvent.HalfClose(1));
        b.add(new IngressEvent.Reset(1));
        assertTrue(b.isFull());
        assertEquals(List.of(new IngressEvent.Open(1, "main"), new IngressEvent.HalfClose(1)), b.cut(1, ENTROPY).events());
        assertEquals(List.of(new IngressEvent.Reset(1)), b.cut(2, ENTROPY).events());
        assertTrue(b.isEmpty());
    }
}
