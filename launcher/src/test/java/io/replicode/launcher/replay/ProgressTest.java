package io.replicode.launcher.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Progress driven by a fake clock: lines every 5 s off a terminal, a bar redrawn in place on one. */
class ProgressTest {
    private static final long S = TimeUnit.SECONDS.toNanos(1);

    @Test
    void off_a_terminal_a_line_every_five_seconds() {
        StringWriter text = new StringWriter();
        Progress p = new Progress(new PrintWriter(text), false, 1_000_000, 0);
        p.at(10_000, 1 * S);
        p.at(90_000, 4 * S);
        assertEquals("", text.toString(), "nothing before 5 s");
        p.at(120_000, 5 * S);
        p.at(130_000, 6 * S);
        p.at(260_000, 10 * S);
        p.finish();
        assertEquals("verified 120,000 / 1,000,000 frames (12%), 24,000 frames/s\n"
                + "verified 260,000 / 1,000,000 frames (26%), 26,000 frames/s\n", text.toString());
    }

    @Test
    void on_a_terminal_a_bar_redrawn_in_place_and_cleared_at_the_end() {
        StringWriter text = new StringWriter();
        Progress p = new Progress(new PrintWriter(text), true, 1_000, 0);
        p.at(500, S);
        String bar = text.toString();
        assertTrue(bar.startsWith("\r[###############...............] 50% 500 / 1,000 frames, 500 frames/s, 1.0 s left"), bar);
        assertTrue(!bar.contains("\n"), "redrawn in place: " + bar);
        p.at(510, S + 1);
        assertEquals(bar, text.toString(), "at most every 200 ms");
        p.finish();
        assertTrue(text.toString().endsWith("\r"), "cleared: " + text);
    }

    @Test
    void durations_read_naturally() {
        assertEquals("0.8 s", Progress.duration(0.8));
        assertEquals("48 s", Progress.duration(48.2));
        assertEquals("3 min 12 s", Progress.duration(192));
    }
}
