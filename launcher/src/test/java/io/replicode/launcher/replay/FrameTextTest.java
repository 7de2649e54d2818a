package io.replicode.launcher.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The byte renderings the reports and dump rely on. */
class FrameTextTest {
    @Test
    void escape_keeps_printable_ascii_and_escapes_the_rest() {
        byte[] b = {'a', ' ', '"', '\\', '\r', '\n', '\t', 0, 0x7F, (byte) 0xFF};
        assertEquals("a \\\"\\\\\\r\\n\\t\\x00\\x7f\\xff", FrameText.escape(b, 0, b.length));
    }

    @Test
    void preview_is_cut_at_60_bytes() {
        byte[] b = "0123456789".repeat(7).getBytes(StandardCharsets.US_ASCII);
        assertEquals("\"" + "0123456789".repeat(6) + "\"...", FrameText.preview(b));
        assertEquals("\"short\"", FrameText.preview("short".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void dump_shows_stream_offsets_and_marks_the_first_difference() {
        byte[] b = "GET /a HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII);
        String dump = FrameText.dump("", b, 1000, 1000, 1017);
        assertEquals("text: \"GET /a HTTP/1.1\\r\\nHost: x\\r\\n\"\n"
                + "      1000  47 45 54 20 2f 61 20 48  54 54 50 2f 31 2e 31 0d  |GET /a HTTP/1.1.|\n"
                + "      1016  0a 48 6f 73 74 3a 20 78  0d 0a                    |.Host: x..|\n"
                + "               ^^ first difference\n", dump);
    }

    @Test
    void dump_is_bounded_to_256_bytes_from_where_it_starts() {
        byte[] b = new byte[1000];
        String dump = FrameText.dump("", b, 0, 512, -1);
        assertEquals(16 + 1, dump.lines().count(), "a text line and 16 hex lines");
        assertEquals(true, dump.startsWith("text: \"" + "\\x00".repeat(256) + "\"... (232 more bytes)\n"), dump);
        assertEquals(true, dump.contains("\n       512  00 00"), dump);
    }

    @Test
    void instants_have_nanoseconds() {
        assertEquals("2023-11-14T22:13:20.000000001Z", FrameText.instant(1_700_000_000_000_000_001L));
    }

    @Test
    void batch_marks_name_gateway_and_seq_in_text_and_json() {
        assertEquals("batch gateway=3 seq=17", FrameText.event(new IngressEvent.Batch(3, 17)));
        assertEquals("batch gateway=0 seq=0 (sequencer)", FrameText.event(new IngressEvent.Batch(0, 0)));
        Frame f = new Frame("kv", 1, 5, 1_700_000_000_000_000_000L, new byte[] {1},
                List.of(new IngressEvent.Batch(3, 17), new IngressEvent.HalfClose(1)));
        assertEquals("    batch gateway=3 seq=17\n    half-close 0:1\n", FrameText.events(f, "    ", 12));
        JsonObject mark = FrameText.json(f).getJsonArray("events").getJsonObject(0);
        assertEquals(new JsonObject().put("type", "batch").put("gateway", 3).put("batchSeq", 17L), mark);
    }
}
