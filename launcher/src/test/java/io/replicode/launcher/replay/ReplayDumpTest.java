package io.replicode.launcher.replay;

import static io.replicode.launcher.replay.Recordings.replicode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.EmbeddedNode;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.replay.ReplayLog;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/** {@code replicode replay dump} on a real kv recording: readable text and JSON lines, and the frames they show. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReplayDumpTest {
    @TempDir
    static Path tmp;

    private Path data;
    private List<Frame> frames;

    @BeforeAll
    void record() throws Exception {
        data = tmp.resolve("data");
        EmbeddedNode node = Recordings.start(data, Recordings.kv());
        try (Jedis jedis = new Jedis("127.0.0.1", Recordings.port(node, "kv", "resp"))) {
            assertEquals("OK", jedis.set("greeting", "hello \"world\""));
            byte[] binary = new byte[100];
            for (int i = 0; i < binary.length; i++) {
                binary[i] = (byte) (i * 7);
            }
            assertEquals("OK", jedis.set("binary".getBytes(StandardCharsets.US_ASCII), binary));
        } finally {
            Recordings.awaitDigests(data, "kv");
            node.close();
        }
        try (ReplayLog log = ReplayLog.open(data.resolve("kv/log"), "kv", ReplayLog.Options.DEFAULT.withFsync(ReplayLog.FsyncPolicy.NEVER))) {
            frames = log.read(1, Integer.MAX_VALUE);
        }
    }

    private Frame firstWithData(String contains) {
        return frames.stream().filter(f -> f.events().stream().anyMatch(e -> e instanceof io.replicode.nat.IngressEvent.Data d
                && new String(d.bytes(), StandardCharsets.ISO_8859_1).contains(contains))).findFirst().orElseThrow();
    }

    @Test
    void the_help_shows_its_jq_example_without_a_format_warning() {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream was = System.err;
        System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        Recordings.Result r;
        try {
            r = replicode("replay", "dump", "--help");
        } finally {
            System.setErr(was);
        }
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("jq -c 'select(.seq % 1000 == 0)'"), r.out());
        // picocli formats help texts: an unescaped % made it warn on every --help.
        assertEquals("", err.toString(StandardCharsets.UTF_8) + r.err());
    }

    @Test
    void text_shows_seq_time_epoch_entropy_prev_hash_and_events_with_previews() {
        Frame set = firstWithData("greeting");
        var d = (io.replicode.nat.IngressEvent.Data) set.events().stream()
                .filter(e -> e instanceof io.replicode.nat.IngressEvent.Data).findFirst().orElseThrow();
        String out = replicode("replay", "dump", "--data", data.toString(), "--app", "kv", "--from", Long.toString(set.seq()),
                "--limit", "1").assertExit(0).out();
        assertTrue(out.startsWith("frame " + set.seq() + " at " + FrameText.instant(set.timeNs()) + " (" + set.timeNs()
                + " ns), epoch " + set.epoch() + ", entropy " + HexFormat.of().formatHex(set.entropy()) + ", prev "
                + HexFormat.of().formatHex(set.prevHash(), 0, 4) + ", "), out);
        assertTrue(out.contains("  data " + ConnectionIds.format(d.connection()) + " " + d.bytes().length
                + " bytes \"*3\\r\\n$3\\r\\nSET\\r\\n$8\\r\\ngreeting\\r\\n$13\\r\\nhello \\\"world\\\"\\r\\n\""), out);
        assertEquals(1, out.lines().filter(l -> l.startsWith("frame ")).count(), "--limit 1: " + out);
    }

    @Test
    void binary_payloads_are_escaped_and_cut_at_60_bytes() {
        Frame set = firstWithData("binary");
        String out = replicode("replay", "dump", "--data", data.toString(), "--app", "kv", "--from", Long.toString(set.seq()),
                "--limit", "1").assertExit(0).out();
        // 31 bytes of RESP, then the first 29 of the value (i * 7): 60 bytes shown, then "...".
        assertTrue(out.contains(" 133 bytes \"*3\\r\\n$3\\r\\nSET\\r\\n$6\\r\\nbinary\\r\\n$100\\r\\n"
                + "\\x00\\x07\\x0e\\x15\\x1c#*18?FMT[bipw~\\x85\\x8c\\x93\\x9a\\xa1\\xa8\\xaf\\xb6\\xbd\\xc4\"...\n"), out);
    }

    @Test
    void from_and_limit_select_the_frames() {
        String out = replicode("replay", "dump", "--data", data.toString(), "--app", "kv", "--from", "2", "--limit", "3")
                .assertExit(0).out();
        assertEquals(List.of("frame 2", "frame 3", "frame 4"),
                out.lines().filter(l -> l.startsWith("frame ")).map(l -> l.substring(0, l.indexOf(" at "))).toList(), out);
        String all = replicode("replay", "dump", "--data", data.toString(), "--app", "kv").assertExit(0).out();
        assertEquals(frames.size(), all.lines().filter(l -> l.startsWith("frame ")).count());
    }

    @Test
    void json_is_one_object_per_frame_with_the_same_fields() {
        String out = replicode("replay", "dump", "--data", data.toString(), "--app", "kv", "--json").assertExit(0).out();
        List<String> lines = out.lines().toList();
        assertEquals(frames.size(), lines.size());
        Frame set = firstWithData("greeting");
        JsonObject o = new JsonObject(lines.get((int) set.seq() - 1));
        assertEquals(set.seq(), o.getLong("seq"));
        assertEquals(set.timeNs(), o.getLong("timeNs"));
        assertEquals(FrameText.instant(set.timeNs()), o.getString("time"));
        assertEquals(set.epoch(), o.getLong("epoch"));
        assertEquals(HexFormat.of().formatHex(set.entropy()), o.getString("entropy"));
        assertEquals(HexFormat.of().formatHex(set.prevHash()), o.getString("prevHash"));
        JsonArray events = o.getJsonArray("events");
        JsonObject data = events.stream().map(JsonObject.class::cast).filter(e -> e.getString("type").equals("data"))
                .findFirst().orElseThrow();
        assertEquals("*3\\r\\n$3\\r\\nSET\\r\\n$8\\r\\ngreeting\\r\\n$13\\r\\nhello \\\"world\\\"\\r\\n", data.getString("preview"));
        assertEquals(47, data.getInteger("bytes"));
        assertTrue(data.getString("connection").matches("\\d+:\\d+"), data.encode());
        assertTrue(lines.stream().map(JsonObject::new).flatMap(l -> l.getJsonArray("events").stream())
                .map(JsonObject.class::cast).anyMatch(e -> e.getString("type").equals("open")
                        && e.getString("listener").equals("resp")), out);
    }

    @Test
    void a_missing_app_or_data_directory_exits_2_with_a_fix() {
        replicode("replay", "dump", "--data", data.toString(), "--app", "image")
                .assertUserError("no app 'image' in data directory", "(it holds: kv)", "Fix: pass one of them with --app");
        replicode("replay", "dump", "--data", tmp.resolve("nowhere").toString(), "--app", "kv")
                .assertUserError("does not exist", "Fix: ");
        replicode("replay", "dump", "--data", data.toString(), "--app", "kv", "--from", "0")
                .assertUserError("--from 0", "Fix: pass --from 1 or later");
    }
}
