package io.replicode.replay;

import io.replicode.fuzz.Fuzz;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.nat.CodecException;
import io.replicode.nat.IngressEvent;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of everything that reads the replay log and the digest log: the frame and digest record
 * decoders over a million mutated valid encodings each, and whole files (segments, digest logs) damaged in
 * tens of thousands of ways and opened for real. Nothing may hang, allocate out of proportion to its input
 * or throw anything but the documented error ({@link CodecException} for the codec,
 * {@link LogCorruptedException} for the logs); what opens reads back as a prefix of what was written. A
 * failure prints its seed and input; {@code -Dreplicode.fuzz.seed=N} reruns with another seed.
 */
class LogFuzzTest {
    private static final long SEED = Long.getLong("replicode.fuzz.seed", 0x5EED_0002L);
    private static final ReplayLog.Options SMALL =
            ReplayLog.Options.DEFAULT.withSegmentBytes(4096).withFsync(ReplayLog.FsyncPolicy.NEVER);
    private static final Path NOWHERE = Path.of("fuzz", "digests.log");

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void frames_give_codec_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String app = r.nextBoolean() ? "kv" : r.nextBoolean() ? "äpp-" + r.nextInt(10) : "a".repeat(64);
            corpus.add(FrameCodec.encode(randomFrame(r, app, 1 + r.nextInt(1000), Fuzz.bytes(r, 32))));
        }
        Fuzz.run("FrameCodec.decode", SEED, 1_200_000, corpus, input -> {
            Frame frame;
            try {
                frame = FrameCodec.decode(input);
            } catch (CodecException e) {
                Fuzz.checkOffset(e.offset(), input);
                return;
            }
            byte[] again = FrameCodec.encode(frame);
            assertEquals(frame, FrameCodec.decode(again));
            // A SnapshotRequest's connection field is always written as -1, whatever was read.
            if (frame.events().stream().noneMatch(e -> e instanceof IngressEvent.SnapshotRequest)) {
                assertArrayEquals(input, again, "re-encoding gives the decoded bytes");
            } else {
                assertEquals(input.length, again.length);
            }
        });
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void digest_records_give_corruption_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            corpus.add(DigestLog.encode(randomDigest(r, 1 + r.nextInt(1000))));
        }
        Fuzz.run("DigestLog.decode", SEED + 1, 1_200_000, corpus, input -> {
            DigestLog.FrameDigest d;
            try {
                d = DigestLog.decode(input, NOWHERE, 4242);
            } catch (LogCorruptedException e) {
                assertEquals(NOWHERE, e.file());
                assertEquals(4242, e.offset());
                return;
            }
            byte[] again = DigestLog.encode(d);
            byte[] expected = input.clone();
            expected[40] &= 1; // flags: only bit 0 has a meaning, and only it is written back
            assertArrayEquals(expected, again, "re-encoding gives the decoded bytes");
        });
    }

    /**
     * A digest log damaged anywhere either opens (its torn tail cut) or is refused with a
     * {@link LogCorruptedException}; once open, every byte of it is a record in increasing seq order. Reading
     * it without opening stops at the first bad record (only a bad header or payload is an error).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void damaged_digest_logs_open_or_are_refused() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Path file = dir.resolve("corpus-" + i + "/digests.log");
            try (DigestLog log = DigestLog.open(file)) {
                int n = 1 + r.nextInt(12);
                for (int k = 1; k <= n; k++) {
                    log.append(randomDigest(r, k * 3L));
                }
            }
            corpus.add(Files.readAllBytes(file));
        }
        Path file = dir.resolve("round/digests.log");
        int rounds = 15_000;
        int opened = 0;
        int refused = 0;
        long fdsBefore = openFileDescriptors();
        for (int round = 0; round < rounds; round++) {
            byte[] original = corpus.get(r.nextInt(corpus.size()));
            int kind = r.nextInt(3);
            byte[] damaged;
            if (kind == 0) {
                damaged = Arrays.copyOf(original, r.nextInt(original.length + 1));
            } else if (kind == 1) {
                damaged = original.clone();
                damaged[r.nextInt(damaged.length)] ^= (byte) (1 << r.nextInt(8));
            } else {
                damaged = Fuzz.mutate(original, corpus.get(r.nextInt(corpus.size())), r);
            }
            try {
                Files.createDirectories(file.getParent());
                Files.write(file, damaged);
                try {
                    List<DigestLog.FrameDigest> unopened = DigestLog.readFile(file, 0, Integer.MAX_VALUE);
                    assertTrue(unopened.size() <= (damaged.length - DigestLog.HEADER) / 51, "records of 51+ bytes");
                } catch (LogCorruptedException e) {
                    assertEquals(file, e.file());
                }
                try (DigestLog log = DigestLog.open(file)) {
                    List<DigestLog.FrameDigest> records = log.read(Long.MIN_VALUE, Integer.MAX_VALUE);
                    long bytes = DigestLog.HEADER;
                    long previous = 0;
                    for (DigestLog.FrameDigest d : records) {
                        assertTrue(d.seq() > previous, "seqs increase");
                        previous = d.seq();
                        bytes += 8 + DigestLog.encode(d).length;
                    }
                    assertEquals(Files.size(file), bytes, "every byte of an opened digest log is a record");
                    assertEquals(previous, log.lastSeq());
                    opened++;
                } catch (LogCorruptedException e) {
                    assertTrue(kind != 0, "a digest log cut short anywhere is a torn tail, not corruption: " + e);
                    assertEquals(file, e.file());
                    assertTrue(e.offset() >= 0 && e.offset() < damaged.length, "offset " + e.offset());
                    refused++;
                }
            } catch (Throwable t) {
                throw new AssertionError("digest log round " + round + " of seed " + (SEED + 2) + " failed: " + t
                        + "\nfile (" + damaged.length + " bytes): " + HexFormat.of().formatHex(damaged), t);
            }
        }
        long fdsAfter = openFileDescriptors();
        assertTrue(fdsAfter - fdsBefore < 64, "refused opens leak file descriptors: " + fdsBefore + " -> " + fdsAfter);
        assertTrue(opened > rounds / 20 && refused > rounds / 20, "opened " + opened + ", refused " + refused);
        System.out.printf("DigestLog.open/readFile: %,d damaged files, %,d opened, %,d refused%n", rounds, opened, refused);
    }

    /**
     * A replay log of a few segments, damaged: each round restores the intact segments, then truncates or
     * mutates one (sometimes two) of them and opens the log. Damage to the newest segment may be a torn tail;
     * a shorter middle segment or any single-bit flip before the newest is always corruption; whatever
     * opens reads back as a prefix of the frames written, hash chain intact, and takes the next frame.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void damaged_replay_logs_open_as_a_prefix_or_are_refused() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        Path logDir = dir.resolve("log");
        List<Frame> written = new ArrayList<>();
        try (ReplayLog log = ReplayLog.open(logDir, "kv", SMALL)) {
            for (int i = 0; i < 60; i++) {
                Frame f = randomFrame(r, "kv", log.lastSeq() + 1, log.lastHash());
                log.append(f).join();
                written.add(f);
            }
        }
        List<Path> names = segments(logDir);
        assertTrue(names.size() >= 3, "the log spans several segments: " + names.size());
        List<byte[]> intact = new ArrayList<>();
        for (Path p : names) {
            intact.add(Files.readAllBytes(p));
        }
        int rounds = Integer.getInteger("replicode.fuzz.logRounds", 5_000);
        int opened = 0;
        int refused = 0;
        long fdsBefore = openFileDescriptors();
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < names.size(); i++) {
                Files.write(names.get(i), intact.get(i));
            }
            // Half the rounds damage the newest segment, where a torn tail has to be told from corruption.
            int victim = r.nextBoolean() ? names.size() - 1 : r.nextInt(names.size());
            boolean newest = victim == names.size() - 1;
            byte[] bytes = intact.get(victim);
            String what;
            int kind = r.nextInt(4);
            if (kind == 0) {
                int len = r.nextInt(bytes.length);
                what = "segment " + victim + " truncated to " + len + " bytes";
                bytes = Arrays.copyOf(bytes, len);
            } else if (kind == 1) {
                int at = r.nextInt(bytes.length);
                int bit = r.nextInt(8);
                what = "segment " + victim + ": bit " + bit + " of byte " + at + " flipped";
                bytes = bytes.clone();
                bytes[at] ^= (byte) (1 << bit);
            } else {
                what = "segment " + victim + " mutated";
                bytes = Fuzz.mutate(bytes, intact.get(r.nextInt(intact.size())), r);
                if (kind == 3) {
                    int other = r.nextInt(names.size());
                    Files.write(names.get(other), Fuzz.mutate(intact.get(other), intact.get(r.nextInt(intact.size())), r));
                    what += ", and segment " + other;
                }
            }
            Files.write(names.get(victim), bytes);
            try {
                // Before the newest segment, a cut or a flipped bit is always corruption (CRC32C sees every
                // single-bit error); in the newest, a cut anywhere is a torn tail.
                boolean mustRefuse = !newest && kind < 2;
                boolean mustOpen = newest && kind == 0;
                try (ReplayLog log = ReplayLog.open(logDir, "kv", SMALL)) {
                    assertTrue(!mustRefuse, "damage before the newest segment went unnoticed");
                    checkPrefix(log, written);
                    opened++;
                } catch (LogCorruptedException e) {
                    assertTrue(!mustOpen, "a torn tail of the newest segment was refused: " + e.getMessage());
                    assertNotNull(e.file());
                    assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
                    refused++;
                }
            } catch (Throwable t) {
                throw new AssertionError("replay log round " + round + " of seed " + (SEED + 3) + " (" + what
                        + ") failed: " + t, t);
            }
            try (Stream<Path> s = Files.list(logDir)) {
                for (Path p : s.toList()) {
                    if (!names.contains(p)) {
                        Files.delete(p); // a segment started after everything was cut
                    }
                }
            }
        }
        long fdsAfter = openFileDescriptors();
        assertTrue(fdsAfter - fdsBefore < 64, "refused opens leak file descriptors: " + fdsBefore + " -> " + fdsAfter);
        assertTrue(opened > rounds / 20 && refused > rounds / 20, "opened " + opened + ", refused " + refused);
        System.out.printf("ReplayLog.open: %,d damaged logs, %,d opened, %,d refused%n", rounds, opened, refused);
    }

    /** An opened log holds a prefix of {@code written}, chained, and continues with the next frame. */
    private static void checkPrefix(ReplayLog log, List<Frame> written) {
        long last = log.lastSeq();
        assertTrue(last >= 0 && last <= written.size(), "lastSeq " + last);
        List<Frame> frames = log.read(1, Integer.MAX_VALUE);
        assertEquals(written.subList(0, (int) last), frames, "an opened log reads back what was written, in order");
        assertEquals(last, log.recovery().frames());
        byte[] lastHash = last == 0 ? Frame.GENESIS_HASH : FrameCodec.hash(FrameCodec.encode(frames.get((int) last - 1)));
        assertArrayEquals(lastHash, log.lastHash());
        if (last < written.size()) {
            Frame next = written.get((int) last);
            log.append(next).join();
            assertEquals(List.of(next), log.read(last + 1, 10));
        }
    }

    private static List<Path> segments(Path logDir) throws IOException {
        try (Stream<Path> s = Files.list(logDir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    private static long openFileDescriptors() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(fds)) {
            return s.count();
        }
    }

    private static Frame randomFrame(SplittableRandom r, String app, long seq, byte[] prevHash) {
        List<IngressEvent> events = new ArrayList<>();
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
            long conn = 1 + r.nextInt(1000);
            events.add(switch (r.nextInt(7)) {
                case 0 -> new IngressEvent.Open(conn, r.nextBoolean() ? "resp" : "lïstener");
                case 1 -> new IngressEvent.Data(conn, Fuzz.bytes(r, r.nextInt(r.nextBoolean() ? 8 : 300)));
                case 2 -> new IngressEvent.HalfClose(conn);
                case 3 -> new IngressEvent.Reset(conn);
                case 4 -> new IngressEvent.Window(conn, r.nextInt(1 << 20));
                case 5 -> new IngressEvent.GatewayLost(r.nextInt(3) - 1);
                default -> new IngressEvent.SnapshotRequest();
            });
        }
        return new Frame(app, 1 + r.nextInt(3), seq, 1_000_000L * seq, Fuzz.bytes(r, r.nextInt(5) * 16), events, prevHash);
    }

    private static DigestLog.FrameDigest randomDigest(SplittableRandom r, long seq) {
        List<DigestLog.SendSummary> sends = new ArrayList<>();
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            sends.add(new DigestLog.SendSummary(1 + r.nextInt(100), r.nextInt(1 << 20), r.nextInt(1 << 16), r.nextInt()));
        }
        return new DigestLog.FrameDigest(seq, Fuzz.bytes(r, 32), r.nextBoolean() ? Fuzz.bytes(r, 32) : null, sends);
    }

}
