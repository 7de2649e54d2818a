package io.replicode.launcher.replay;

import static io.replicode.launcher.replay.Recordings.replicode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import io.replicode.node.EmbeddedNode;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.DigestLog;
import io.replicode.replay.ReplayLog;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * {@code replicode replay verify} on real recordings: kv (RESP through Jedis, HTTP, the line protocol), image
 * (HTTP) and echo, recorded by the embedded node with three replicas, then verified offline; and the same
 * recordings damaged on purpose: a tampered digest, a corrupt or torn log, another module.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReplayVerifyTest {
    /** Sequential SETs: one request in flight, so each is its own frame, and the log passes a few state digests. */
    private static final int KV_SETS = 260;

    @TempDir
    static Path tmp;

    private Path data;

    @BeforeAll
    void record() throws Exception {
        data = tmp.resolve("recorded");
        EmbeddedNode node = Recordings.start(data, Recordings.kv(), Recordings.image(), Recordings.echo());
        try {
            driveKv(node);
            driveImage(node);
            driveEcho(node);
            for (String app : List.of("kv", "image", "echo")) {
                Recordings.awaitDigests(data, app);
            }
        } finally {
            node.close();
        }
    }

    private static void driveKv(EmbeddedNode node) throws Exception {
        try (Jedis jedis = new Jedis("127.0.0.1", Recordings.port(node, "kv", "resp"))) {
            for (int i = 0; i < KV_SETS; i++) {
                assertEquals("OK", jedis.set("key:" + i, "value-" + i));
            }
            assertEquals("value-7", jedis.get("key:7"));
            assertEquals(1, jedis.incr("counter"));
            var p = jedis.pipelined();
            for (int i = 0; i < 50; i++) {
                p.set("piped:" + i, "v" + i);
            }
            p.sync();
        }
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + node.httpPort() + "/kv/";
        assertEquals(201, http.send(HttpRequest.newBuilder(URI.create(base + "hello"))
                .PUT(HttpRequest.BodyPublishers.ofString("world")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals("world", http.send(HttpRequest.newBuilder(URI.create(base + "hello")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        try (Socket s = new Socket("127.0.0.1", Recordings.port(node, "kv", "line"))) {
            s.getOutputStream().write("SET line hello there\nGET line\n".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertEquals("OK\nVALUE hello there\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
    }

    private static void driveImage(EmbeddedNode node) throws Exception {
        BufferedImage photo = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) {
            for (int x = 0; x < 40; x++) {
                photo.setRGB(x, y, (x * 6) << 16 | (y * 8) << 8 | ((x + y) & 0xFF));
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(photo, "png", png);
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + node.httpPort() + "/image/images/";
        assertEquals(201, http.send(HttpRequest.newBuilder(URI.create(base + "photo.png"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(png.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<byte[]> thumb = http.send(HttpRequest.newBuilder(URI.create(base + "photo.png?grayscale&thumbnail=16"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, thumb.statusCode());
        assertEquals(16, ImageIO.read(new java.io.ByteArrayInputStream(thumb.body())).getWidth());
    }

    /** Echo: the canary tests run probe and the thread build of echo against this. */
    private static void driveEcho(EmbeddedNode node) throws Exception {
        try (Socket s = new Socket("127.0.0.1", Recordings.port(node, "echo", "main"))) {
            s.setSoTimeout(15_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            for (String line : List.of("hello", "args", "clock")) {
                s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
                assertEquals(line, in.readLine());
            }
        }
    }

    private String data() {
        return data.toString();
    }

    private static long lastSeq(Path data, String app) {
        try (ReplayLog log = ReplayLog.open(data.resolve(app).resolve("log"), app,
                ReplayLog.Options.DEFAULT.withFsync(ReplayLog.FsyncPolicy.NEVER))) {
            return log.lastSeq();
        }
    }

    private static long summaryFrames(String out) {
        Matcher m = Pattern.compile("verified ([0-9,]+) frames, 0 divergences in ").matcher(out);
        assertTrue(m.find(), out);
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    // ---- verify: no divergence ----

    @Test
    void a_kv_recording_verifies_with_no_divergence() {
        var r = replicode("replay", "verify", "--data", data(), "--app", "kv").assertExit(0)
                .assertOut("from genesis: frames 1..", "comparing with replica 1's digests", " frames/s)");
        assertEquals(lastSeq(data, "kv"), summaryFrames(r.out()), "every frame of the log re-executed");
        assertTrue(lastSeq(data, "kv") > KV_SETS, "each SET was its own frame: " + lastSeq(data, "kv"));
    }

    @Test
    void a_kv_recording_verifies_in_the_interpreter_too() {
        replicode("replay", "verify", "--data", data(), "--app", "kv", "--engine", "interpreter").assertExit(0)
                .assertOut("interpreter", "0 divergences");
    }

    @Test
    void an_image_recording_verifies_in_both_engines() {
        replicode("replay", "verify", "--data", data(), "--app", "image").assertExit(0).assertOut("0 divergences");
        replicode("replay", "verify", "--data", data(), "--app", "image", "--engine", "interpreter").assertExit(0)
                .assertOut("0 divergences");
    }

    @Test
    void another_replicas_record_verifies_too() {
        replicode("replay", "verify", "--data", data(), "--app", "kv", "--replica", "3").assertExit(0)
                .assertOut("comparing with replica 3's digests", "0 divergences");
    }

    @Test
    void from_snapshot_verifies_only_the_frames_after_the_newest_snapshot() throws IOException {
        Path snapshots = data.resolve("kv/replica-1/snapshots");
        long newest;
        try (var s = Files.list(snapshots)) {
            newest = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".snap"))
                    .mapToLong(n -> Long.parseLong(n.substring(0, 20))).max().orElseThrow();
        }
        var r = replicode("replay", "verify", "--data", data(), "--app", "kv", "--from-snapshot").assertExit(0)
                .assertOut("from replica 1's snapshot at frame " + FrameText.count(newest) + ": frames "
                        + FrameText.count(newest + 1) + "..");
        assertEquals(lastSeq(data, "kv") - newest, summaryFrames(r.out()));
    }

    @Test
    void frames_without_a_recorded_digest_are_counted_not_failed() throws IOException {
        Path copy = Recordings.copy(data, "kv", tmp.resolve("short-digests"));
        Path digests = copy.resolve("kv/replica-1/digests.log");
        List<DigestLog.FrameDigest> all = DigestLog.readFile(digests, 0, Integer.MAX_VALUE);
        rewrite(digests, all.subList(0, 150));
        long last = lastSeq(copy, "kv");
        replicode("replay", "verify", "--data", copy.toString(), "--app", "kv").assertExit(0)
                .assertOut("verified " + FrameText.count(last) + " frames, 0 divergences",
                        "note: " + FrameText.count(last - all.get(149).seq()) + " of them have no record in replica 1's "
                                + "digest log (its last record is frame " + FrameText.count(all.get(149).seq()));
    }

    // ---- verify: divergences ----

    @Test
    void a_tampered_outputs_digest_is_named_with_its_frame_and_connection() throws IOException {
        Path copy = Recordings.copy(data, "kv", tmp.resolve("tampered"));
        Path digests = copy.resolve("kv/replica-1/digests.log");
        List<DigestLog.FrameDigest> all = new java.util.ArrayList<>(DigestLog.readFile(digests, 0, Integer.MAX_VALUE));
        int i = 0;
        while (all.get(i).seq() < 150 || all.get(i).sends().isEmpty()) {
            i++;
        }
        DigestLog.FrameDigest d = all.get(i);
        byte[] flipped = d.outputsDigest().clone();
        flipped[0] ^= 1;
        DigestLog.SendSummary s = d.sends().get(0);
        List<DigestLog.SendSummary> sends = new java.util.ArrayList<>(d.sends());
        sends.set(0, new DigestLog.SendSummary(s.connection(), s.offset(), s.length(), s.crc() ^ 1));
        all.set(i, new DigestLog.FrameDigest(d.seq(), flipped, d.stateDigest(), sends));
        rewrite(digests, all);

        var r = replicode("replay", "verify", "--data", copy.toString(), "--app", "kv").assertExit(1);
        r.assertOut("DIVERGENCE at frame " + d.seq() + ": this re-execution differs from replica 1's record",
                "outputs digest: expected " + FrameText.hex(flipped) + ", produced " + FrameText.hex(d.outputsDigest()),
                "first differing send: connection " + ConnectionIds.format(s.connection()) + " at stream offset " + s.offset(),
                String.format("crc32c %08x", s.crc() ^ 1), String.format("crc32c %08x", s.crc()),
                "text: \"+OK\\r\\n\"", "2b 4f 4b 0d 0a", "data " + ConnectionIds.format(s.connection()),
                FrameText.count(d.seq() - 1) + " frames agreed before frame " + FrameText.count(d.seq()));
        assertFalse(r.out().contains("0 divergences"), r.out());
    }

    @Test
    void a_tampered_state_digest_is_a_state_divergence_without_different_outputs() throws IOException {
        Path copy = Recordings.copy(data, "kv", tmp.resolve("state"));
        Path digests = copy.resolve("kv/replica-1/digests.log");
        List<DigestLog.FrameDigest> all = new java.util.ArrayList<>(DigestLog.readFile(digests, 0, Integer.MAX_VALUE));
        int i = 0;
        while (all.get(i).seq() != 200) {
            i++;
        }
        DigestLog.FrameDigest d = all.get(i);
        assertNotNull(d.stateDigest(), "every 100th frame records the state");
        byte[] flipped = d.stateDigest().clone();
        flipped[31] ^= (byte) 0x80;
        all.set(i, new DigestLog.FrameDigest(d.seq(), d.outputsDigest(), flipped, d.sends()));
        rewrite(digests, all);

        replicode("replay", "verify", "--data", copy.toString(), "--app", "kv").assertExit(1)
                .assertOut("DIVERGENCE at frame 200", "state diverged without different outputs: state digest expected "
                        + FrameText.hex(flipped) + ", produced " + FrameText.hex(d.stateDigest()));
    }

    /** Rewrites a digest log with these records, framed as DigestLog frames them. */
    private static void rewrite(Path digests, List<DigestLog.FrameDigest> records) throws IOException {
        byte[] header = java.util.Arrays.copyOf(Files.readAllBytes(digests), 12);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        for (DigestLog.FrameDigest d : records) {
            byte[] payload = DigestLog.encode(d);
            CRC32C crc = new CRC32C();
            crc.update(payload);
            out.writeBytes(ByteBuffer.allocate(8).putInt(payload.length).putInt((int) crc.getValue()).array());
            out.writeBytes(payload);
        }
        Files.write(digests, out.toByteArray());
    }

    // ---- canary ----

    @Test
    void a_canary_that_answers_differently_is_named_at_its_first_differing_frame_with_both_sides_bytes() {
        long firstData = firstFrameWith(data, "echo", IngressEvent.Data.class);
        var r = replicode("replay", "verify", "--data", data(), "--app", "echo", "--module",
                TestGuests.module("probe").toString()).assertExit(1);
        r.assertOut("note: outputs that no client sees (logs, windows, timer requests) first differ at frame 1",
                "expected (recorded module): stderr 24 bytes \"echo: listening on fd 3\\n\"",
                "CANARY DIFFERS at frame " + firstData + ": " + TestGuests.module("probe"),
                "data ", "6 bytes \"hello\\n\"", "first differing byte at stream offset 0",
                "expected (recorded module): 6 bytes from stream offset 0", "text: \"hello\\n\"", "68 65 6c 6c 6f 0a",
                "produced (" + TestGuests.module("probe") + "): ", "text: \"ERR unknown command hello\\n\"",
                "matches the recorded module on " + FrameText.count(firstData - 1) + " frames, then differs at frame "
                        + FrameText.count(firstData));
    }

    @Test
    void a_canary_that_behaves_the_same_matches_on_every_frame() {
        long last = lastSeq(data, "echo");
        replicode("replay", "verify", "--data", data(), "--app", "echo", "--module",
                TestGuests.module("echo_server.plain").toString()).assertExit(0)
                .assertOut("canary: module " + TestGuests.module("echo_server.plain") + " matches the recorded module on "
                        + FrameText.count(last) + " frames", "verified " + FrameText.count(last) + " frames, 0 divergences");
    }

    @Test
    void a_module_that_changed_since_the_recording_is_refused_without_module() throws IOException {
        Path copy = Recordings.copy(data, "echo", tmp.resolve("changed"));
        Path genesis = copy.resolve("echo/genesis.json");
        Path moved = tmp.resolve("echo-now.wasm");
        Files.copy(TestGuests.module("probe"), moved);
        Files.writeString(genesis, new io.vertx.core.json.JsonObject(Files.readString(genesis))
                .put("modulePath", moved.toString()).encodePrettily());
        // The node kept the recorded module under its hash: verify takes it from there, whatever the path holds now.
        replicode("replay", "verify", "--data", copy.toString(), "--app", "echo").assertExit(0)
                .assertOut("module " + copy.resolve("echo/modules"), "0 divergences");
        // Without that copy (a data directory from before the module store), the changed file is refused.
        try (var files = Files.list(copy.resolve("echo/modules"))) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        replicode("replay", "verify", "--data", copy.toString(), "--app", "echo")
                .assertUserError("module " + moved + " changed since the log was recorded", "Fix: pass the recorded module with --module FILE");
        // The recorded module, given by hand, verifies.
        replicode("replay", "verify", "--data", copy.toString(), "--app", "echo", "--module",
                TestGuests.module("echo_server").toString()).assertExit(0).assertOut("0 divergences");
    }

    private static long firstFrameWith(Path data, String app, Class<? extends IngressEvent> type) {
        try (ReplayLog log = ReplayLog.open(data.resolve(app).resolve("log"), app,
                ReplayLog.Options.DEFAULT.withFsync(ReplayLog.FsyncPolicy.NEVER))) {
            for (Frame f : log.read(1, Integer.MAX_VALUE)) {
                if (f.events().stream().anyMatch(type::isInstance)) {
                    return f.seq();
                }
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " in the log of " + app);
    }

    // ---- damaged logs ----

    @Test
    void a_flipped_byte_in_the_middle_of_a_segment_exits_2_naming_file_and_offset() throws IOException {
        Path copy = Recordings.copy(data, "kv", tmp.resolve("corrupt"));
        Path segment = copy.resolve("kv/log/00000000000000000001.log");
        long size = Files.size(segment);
        try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
            f.seek(size / 2);
            int b = f.read();
            f.seek(size / 2);
            f.write(b ^ 0x40);
        }
        replicode("replay", "verify", "--data", copy.toString(), "--app", "kv")
                .assertUserError("replay log `" + segment + "` is corrupt at byte ", "Fix: ");
        replicode("replay", "dump", "--data", copy.toString(), "--app", "kv")
                .assertUserError("replay log `" + segment + "` is corrupt at byte ");
    }

    @Test
    void a_torn_tail_is_cut_and_reported_and_the_rest_verifies() throws IOException {
        Path copy = Recordings.copy(data, "kv", tmp.resolve("torn"));
        Path segment = copy.resolve("kv/log/00000000000000000001.log");
        long before = lastSeq(data, "kv");
        try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
            f.setLength(f.length() - 3);
        }
        var r = replicode("replay", "verify", "--data", copy.toString(), "--app", "kv").assertExit(0)
                .assertOut("replay log: ignored torn tail of `" + segment + "` from byte ", "0 divergences");
        assertEquals(before - 1, summaryFrames(r.out()), "the torn last frame is gone, every other one verifies");
    }

    // ---- usage errors ----

    @Test
    void a_missing_data_directory_or_app_exits_2_with_a_fix() {
        replicode("replay", "verify", "--data", tmp.resolve("nowhere").toString(), "--app", "kv")
                .assertUserError("data directory", "does not exist", "Fix: pass the directory that replicode run used");
        replicode("replay", "verify", "--data", data(), "--app", "ledger")
                .assertUserError("no app 'ledger' in data directory", "(it holds: echo, image, kv)", "Fix: pass one of them with --app");
        replicode("replay", "verify", "--data", data(), "--app", "kv", "--replica", "9")
                .assertUserError("app 'kv' has no replica 9", "Fix: pick one of them with --replica N");
        replicode("replay", "verify", "--data", data(), "--app", "echo", "--module", TestGuests.module("probe").toString(),
                "--from-snapshot").assertUserError("--from-snapshot with a canary --module", "Fix: drop --from-snapshot");
    }
}
