package io.replicode.replay;

import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayLogTest {
    private static final ReplayLog.Options SMALL = ReplayLog.Options.DEFAULT.withSegmentBytes(4096);

    @TempDir
    Path dir;

    /** Appends {@code n} chained frames with a few events each; returns them. */
    private static List<Frame> appendFrames(ReplayLog log, int n) {
        List<Frame> out = new ArrayList<>();
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            long seq = log.lastSeq() + 1;
            byte[] data = new byte[r.nextInt(300)];
            r.nextBytes(data);
            Frame f = new Frame("kv", 1, seq, 1_000 + seq, new byte[] {(byte) seq}, List.of(
                    new IngressEvent.Open(seq, "resp"), new IngressEvent.Data(seq, data), new IngressEvent.Window(seq, 7)),
                    log.lastHash());
            log.append(f).join();
            out.add(f);
        }
        return out;
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".log")).sorted().toList();
        }
    }

    @Test
    void frames_round_trip_across_segment_rolls_and_reopen() throws IOException {
        List<Frame> written;
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            written = appendFrames(log, 200);
            assertEquals(written, log.read(1, 1000));
            assertEquals(written.subList(99, 149), log.read(100, 50));
        }
        assertTrue(segments().size() > 5, "small segments roll: " + segments().size());
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(200, log.lastSeq());
            assertNull(log.recovery().tornTail());
            assertEquals(written, log.read(1, 1000));
            List<Frame> more = appendFrames(log, 3);
            assertEquals(more, log.read(201, 10));
        }
    }

    @Test
    void restart_with_a_later_frame_drops_the_old_segments_and_continues_from_it_after_reopen() throws IOException {
        byte[] prev = new byte[32];
        prev[0] = 7;
        Frame joined = new Frame("kv", 2, 5_000, 9, new byte[] {1}, List.of(new IngressEvent.Open(1, "resp")), prev);
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 40);
            assertThrows(IllegalArgumentException.class, () -> log.restartWith(
                    new Frame("kv", 1, 41, 0, new byte[0], List.of(), log.lastHash()), new byte[0]));
            log.restartWith(joined, FrameCodec.encode(joined)).join();
            assertEquals(5_000, log.firstSeq());
            assertEquals(5_000, log.lastSeq());
            assertEquals(List.of(joined), log.read(5_000, 10));
            assertThrows(IllegalArgumentException.class, () -> log.read(4_999, 1));
            appendFrames(log, 2);
        }
        assertEquals(1, segments().size(), "only the restarted segment is left: " + segments());
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(5_000, log.firstSeq());
            assertEquals(5_002, log.lastSeq());
            assertEquals(joined, log.read(5_000, 1).get(0));
            assertEquals(3, log.read(5_000, 10).size());
        }
    }

    @Test
    void a_crash_inside_restart_with_leaves_a_shorter_log_or_an_empty_one_never_one_with_a_hole() throws IOException {
        // restartWith deletes the old segments oldest first, then writes the new one. The states a crash can leave:
        // some of the oldest segments gone (a log that starts later, whole from there), or all gone (an empty log).
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 40);
        }
        List<Path> all = segments();
        assertTrue(all.size() >= 3, "the test needs several segments: " + all);
        Files.delete(all.get(0));
        Files.delete(all.get(1));
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertTrue(log.firstSeq() > 1, "starts later: " + log.firstSeq());
            assertEquals(40, log.lastSeq());
            assertEquals(40 - log.firstSeq() + 1, log.read(log.firstSeq(), 100).size(), "whole from its first frame");
        }
        for (Path p : segments()) {
            Files.delete(p);
        }
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(0, log.lastSeq(), "empty: the member takes its history from a snapshot again");
        }
    }

    @Test
    void frames_must_be_consecutive_and_chained() {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 2);
            Frame gap = new Frame("kv", 1, 4, 0, new byte[0], List.of(), log.lastHash());
            assertThrows(IllegalArgumentException.class, () -> log.append(gap));
            Frame unchained = new Frame("kv", 1, 3, 0, new byte[0], List.of());
            var e = assertThrows(IllegalArgumentException.class, () -> log.append(unchained));
            assertTrue(e.getMessage().contains("does not chain"), e.getMessage());
        }
    }

    @Test
    void torn_tail_is_cut_and_reported() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 20);
        }
        Path last = segments().get(segments().size() - 1);
        long size = Files.size(last);
        try (var ch = java.nio.channels.FileChannel.open(last, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(19, log.lastSeq());
            assertTrue(log.recovery().tornTail().contains(last.getFileName().toString()), log.recovery().tornTail());
            assertTrue(log.recovery().tornTail().contains("at byte"));
            appendFrames(log, 1);
            assertEquals(20, log.lastSeq(), "appending continues after the cut");
        }
    }

    @Test
    void read_only_open_checks_everything_but_cuts_and_writes_nothing() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 20);
        }
        Path last = segments().get(segments().size() - 1);
        long size = Files.size(last);
        try (var ch = java.nio.channels.FileChannel.open(last, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }
        long damaged = Files.size(last);
        try (ReplayLog ro = ReplayLog.openReadOnly(dir, "kv")) {
            assertEquals(19, ro.lastSeq());
            assertTrue(ro.recovery().tornTail().contains("not cut"), ro.recovery().tornTail());
            assertEquals(19, ro.read(1, 100).size());
            assertThrows(IllegalStateException.class, () -> ro.append(new Frame("kv", 1, 20, 0, new byte[0], List.of(), ro.lastHash())));
        }
        assertEquals(damaged, Files.size(last), "the file was not touched");
        assertThrows(java.io.UncheckedIOException.class, () -> ReplayLog.openReadOnly(dir.resolve("nope"), "kv"));
    }

    @Test
    void zero_filled_last_record_is_a_torn_tail() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 5);
        }
        Path last = segments().get(segments().size() - 1);
        byte[] bytes = Files.readAllBytes(last);
        // The last record's payload became zeros (a crash after the size grew, before the data landed).
        int lastLen = lastRecordLength(bytes);
        java.util.Arrays.fill(bytes, bytes.length - lastLen, bytes.length, (byte) 0);
        Files.write(last, bytes);
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(4, log.lastSeq());
            assertTrue(log.recovery().tornTail().contains("checksum"));
        }
    }

    @Test
    void a_crashed_log_ends_at_its_last_record_before_the_preallocated_zeros() throws IOException {
        ReplayLog crashed = ReplayLog.open(dir, "kv", SMALL);
        appendFrames(crashed, 3);
        Path last = segments().get(segments().size() - 1);
        assertTrue(Files.size(last) >= ReplayLog.PREALLOCATE_BYTES, "the newest segment is preallocated ahead of its records");
        // Not closed: as after a crash, the zeros stay. A record torn mid-write leaves its header and part of its
        // payload before them.
        byte[] bytes = Files.readAllBytes(last);
        long end = logicalEnd(bytes);
        byte[] torn = ByteBuffer.allocate(12).putInt(100).putInt(12345).putInt(7).array();
        try (var ch = java.nio.channels.FileChannel.open(last, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(torn), end);
        }
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(3, log.lastSeq());
            assertTrue(log.recovery().tornTail().contains("checksum"), log.recovery().tornTail());
            appendFrames(log, 2);
            assertEquals(5, log.lastSeq());
        }
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(5, log.lastSeq(), "closed cleanly: nothing to cut");
            assertEquals(null, log.recovery().tornTail());
            assertEquals(5, log.read(1, 10).size());
        }
        // `crashed` is left unclosed on purpose: closing it would cut the file at its own (older) end.
    }

    /** Where the records of a segment end (the first all-zero record header, or the end of the file). */
    private static long logicalEnd(byte[] segment) {
        ByteBuffer b = ByteBuffer.wrap(segment);
        int pos = 8 + 2 + 2 + 8 + 2 + 2 + 4; // header for app "kv"
        while (pos + 8 <= segment.length && b.getInt(pos) != 0) {
            pos += 8 + b.getInt(pos);
        }
        return pos;
    }

    private static int lastRecordLength(byte[] segment) {
        ByteBuffer b = ByteBuffer.wrap(segment);
        int pos = 8 + 2 + 2 + 8 + 2 + 2 + 4; // header for app "kv"
        int len = 0;
        while (pos < segment.length) {
            len = b.getInt(pos);
            pos += 8 + len;
        }
        return len;
    }

    @Test
    void corrupt_record_in_the_middle_is_refused_with_file_and_offset() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 50);
        }
        Path first = segments().get(0);
        byte[] bytes = Files.readAllBytes(first);
        bytes[60] ^= 0x01;
        Files.write(first, bytes);
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> ReplayLog.open(dir, "kv", SMALL));
        assertEquals(first, e.file());
        assertTrue(e.getMessage().contains("at byte"), e.getMessage());
        assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
    }

    @Test
    void absurd_length_field_is_refused_before_allocating() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 50);
        }
        Path first = segments().get(0);
        byte[] bytes = Files.readAllBytes(first);
        ByteBuffer.wrap(bytes).putInt(28, 0x7FFF_FFF0);
        Files.write(first, bytes);
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> ReplayLog.open(dir, "kv", SMALL));
        assertTrue(e.getMessage().contains("record length"), e.getMessage());
        assertEquals(28, e.offset());
    }

    @Test
    void enlarged_length_of_a_middle_record_in_the_newest_segment_is_corruption_not_a_torn_tail() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", ReplayLog.Options.DEFAULT)) {
            appendFrames(log, 10);
        }
        Path only = segments().get(0);
        byte[] bytes = Files.readAllBytes(only);
        int pos = 8 + 2 + 2 + 8 + 2 + 2 + 4;
        for (int i = 0; i < 3; i++) {
            pos += 8 + ByteBuffer.wrap(bytes).getInt(pos);
        }
        ByteBuffer.wrap(bytes).putInt(pos, bytes.length);
        Files.write(only, bytes);
        var e = assertThrows(LogCorruptedException.class, () -> ReplayLog.open(dir, "kv", ReplayLog.Options.DEFAULT));
        assertEquals(pos, e.offset());
        assertEquals(bytes.length, Files.size(only), "nothing was cut");
    }

    @Test
    void wrong_magic_is_a_header_mismatch() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 3);
        }
        Path first = segments().get(0);
        byte[] bytes = Files.readAllBytes(first);
        bytes[0] = 'X';
        Files.write(first, bytes);
        var e = assertThrows(LogCorruptedException.class, () -> ReplayLog.open(dir, "kv", SMALL));
        assertTrue(e.getMessage().contains("header mismatch"), e.getMessage());
    }

    @Test
    void edited_frame_breaks_the_hash_chain() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 3);
        }
        // Rewrite frame 2 with other content but a valid record checksum: only the chain can tell.
        Path seg = segments().get(0);
        List<Frame> frames;
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            frames = log.read(1, 10);
        }
        Frame f2 = frames.get(1);
        Frame forged = new Frame("kv", 1, 2, f2.timeNs(), f2.entropy(), List.of(new IngressEvent.Data(2, "evil".getBytes())),
                f2.prevHash());
        Files.delete(seg);
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            log.append(frames.get(0)).join();
            log.append(forged).join();
            // Frame 3 as originally written names the hash of the original frame 2: force it in raw.
        }
        byte[] payload = FrameCodec.encode(frames.get(2));
        ByteBuffer rec = ByteBuffer.allocate(8 + payload.length);
        rec.putInt(payload.length).putInt(ReplayLog.crc(payload)).put(payload);
        Files.write(seg, rec.array(), java.nio.file.StandardOpenOption.APPEND);
        var e = assertThrows(LogCorruptedException.class, () -> ReplayLog.open(dir, "kv", SMALL));
        assertTrue(e.getMessage().contains("hash chain broken at seq 3"), e.getMessage());
    }

    @Test
    void retention_removes_whole_old_segments() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 200);
            int before = segments().size();
            long removed = log.retainFrom(150);
            assertTrue(removed > 0 && log.firstSeq() <= 150, "removed " + removed + " first " + log.firstSeq());
            assertTrue(segments().size() < before);
            assertEquals(150, log.read(150, 1).get(0).seq());
            assertThrows(IllegalArgumentException.class, () -> log.read(1, 1));
        }
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            assertEquals(200, log.lastSeq());
            appendFrames(log, 1);
        }
    }

    @Test
    void concurrent_waiters_share_fsyncs_and_all_complete() throws Exception {
        // Four threads append 125 frames each without waiting for durability; each append is a write of microseconds,
        // each fsync a disk flush, so frames appended while one fsync runs must share the next (group commit).
        int threads = 4;
        int each = 125;
        try (ReplayLog log = ReplayLog.open(dir, "kv", ReplayLog.Options.DEFAULT)) {
            List<CompletableFuture<Void>> pending = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
            List<Thread> appenders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread a = new Thread(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < each; i++) {
                            synchronized (log) {
                                long seq = log.lastSeq() + 1;
                                pending.add(log.append(new Frame("kv", 1, seq, seq, new byte[0], List.of(), log.lastHash())));
                            }
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                a.start();
                appenders.add(a);
            }
            for (Thread a : appenders) {
                a.join(30_000);
            }
            assertEquals(threads * each, pending.size());
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(threads * each, log.lastSeq());
            assertTrue(log.groupSyncs() >= 1 && log.groupSyncs() < threads * each / 2,
                    "fsyncs shared by the appends: " + log.groupSyncs() + " fsyncs for " + threads * each + " frames");
        }
    }

    @Test
    void random_damage_never_escapes_as_anything_but_a_corruption_error() throws IOException {
        try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
            appendFrames(log, 40);
        }
        Path saved = Files.createDirectories(dir.resolve("original"));
        List<Path> originals = segments();
        for (Path p : originals) {
            Files.copy(p, saved.resolve(p.getFileName()));
        }
        Random r = new Random(7);
        int opened = 0;
        int refused = 0;
        for (int round = 0; round < 400; round++) {
            for (Path p : originals) {
                Files.copy(saved.resolve(p.getFileName()), p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Path victim = originals.get(r.nextInt(originals.size()));
            byte[] bytes = Files.readAllBytes(victim);
            if (r.nextBoolean()) {
                bytes = java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length));
            } else {
                for (int k = 0; k < 1 + r.nextInt(4); k++) {
                    bytes[r.nextInt(bytes.length)] ^= (byte) (1 + r.nextInt(255));
                }
            }
            Files.write(victim, bytes);
            try (ReplayLog log = ReplayLog.open(dir, "kv", SMALL)) {
                List<Frame> frames = log.read(log.firstSeq(), 1000);
                assertEquals(log.lastSeq(), frames.isEmpty() ? log.firstSeq() - 1 : frames.get(frames.size() - 1).seq());
                opened++;
            } catch (LogCorruptedException e) {
                refused++;
            }
        }
        assertTrue(opened > 0 && refused > 0, "opened " + opened + ", refused " + refused);
    }
}
