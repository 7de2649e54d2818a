package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded fuzzing of the event, output and batch decoders: over a million mutated valid encodings each, no
 * input may hang them, make them allocate out of proportion to its length, or throw anything but a
 * {@link CodecException}; what decodes encodes back to the same bytes. A failure prints its seed and input;
 * {@code -Dreplicode.fuzz.seed=N} reruns with another seed.
 */
class CodecFuzzTest {
    private static final long SEED = Long.getLong("replicode.fuzz.seed", 0x5EED_0001L);

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void event_lists_give_codec_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            corpus.add(EventCodec.encodeEvents(randomEvents(r)));
        }
        Fuzz.run("EventCodec.decodeEvents", SEED, 1_200_000, corpus, CodecFuzzTest::checkEvents);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void output_lists_give_codec_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            corpus.add(EventCodec.encodeOutputs(randomOutputs(r)));
        }
        Fuzz.run("EventCodec.decodeOutputs", SEED + 1, 1_200_000, corpus, CodecFuzzTest::checkOutputs);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void ingress_batches_give_codec_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            corpus.add(new IngressBatch(r.nextInt(), r.nextLong(), randomEvents(r)).encode());
        }
        Fuzz.run("IngressBatch.decode", SEED + 2, 1_000_000, corpus, input -> {
            IngressBatch batch;
            try {
                batch = IngressBatch.decode(input);
            } catch (CodecException e) {
                Fuzz.checkOffset(e.offset(), input);
                return;
            }
            byte[] again = batch.encode();
            assertEquals(batch, IngressBatch.decode(again));
            if (batch.events().stream().noneMatch(e -> e instanceof IngressEvent.SnapshotRequest)) {
                assertArrayEquals(input, again, "re-encoding gives the decoded bytes");
            }
        });
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void output_batches_give_codec_errors_or_round_trip() {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String app = r.nextBoolean() ? "kv" : "app-é-" + r.nextInt(1000);
            corpus.add(new OutputBatch(app, r.nextInt(), r.nextLong(), randomOutputs(r)).encode());
        }
        Fuzz.run("OutputBatch.decode", SEED + 3, 1_000_000, corpus, input -> {
            OutputBatch batch;
            try {
                batch = OutputBatch.decode(input);
            } catch (CodecException e) {
                Fuzz.checkOffset(e.offset(), input);
                return;
            }
            assertArrayEquals(input, batch.encode(), "re-encoding gives the decoded bytes");
        });
    }

    private static void checkEvents(byte[] input) {
        List<IngressEvent> events;
        try {
            events = EventCodec.decodeEvents(input);
        } catch (CodecException e) {
            Fuzz.checkOffset(e.offset(), input);
            return;
        }
        byte[] again = EventCodec.encodeEvents(events);
        assertEquals(events, EventCodec.decodeEvents(again));
        // A SnapshotRequest's connection field is always written as -1, whatever was read.
        if (events.stream().noneMatch(e -> e instanceof IngressEvent.SnapshotRequest)) {
            assertArrayEquals(input, again, "re-encoding gives the decoded bytes");
        } else {
            assertEquals(input.length, again.length);
        }
    }

    private static void checkOutputs(byte[] input) {
        List<Output> outputs;
        try {
            outputs = EventCodec.decodeOutputs(input);
        } catch (CodecException e) {
            Fuzz.checkOffset(e.offset(), input);
            return;
        }
        assertArrayEquals(input, EventCodec.encodeOutputs(outputs), "re-encoding gives the decoded bytes");
    }

    private static List<IngressEvent> randomEvents(SplittableRandom r) {
        List<IngressEvent> events = new ArrayList<>();
        int n = r.nextInt(6);
        for (int i = 0; i < n; i++) {
            long conn = ConnectionIds.of(r.nextInt(4), 1 + r.nextInt(1000));
            events.add(switch (r.nextInt(7)) {
                case 0 -> new IngressEvent.Open(conn, r.nextBoolean() ? "resp" : "lïstener-" + r.nextInt(100));
                case 1 -> new IngressEvent.Data(conn, Fuzz.bytes(r, r.nextInt(r.nextBoolean() ? 8 : 120)));
                case 2 -> new IngressEvent.HalfClose(conn);
                case 3 -> new IngressEvent.Reset(conn);
                case 4 -> new IngressEvent.Window(conn, r.nextInt(1 << 20));
                case 5 -> new IngressEvent.GatewayLost(r.nextInt(3) - 1);
                default -> new IngressEvent.SnapshotRequest();
            });
        }
        return events;
    }

    private static List<Output> randomOutputs(SplittableRandom r) {
        List<Output> outputs = new ArrayList<>();
        int n = r.nextInt(6);
        for (int i = 0; i < n; i++) {
            long conn = ConnectionIds.of(r.nextInt(4), 1 + r.nextInt(1000));
            outputs.add(switch (r.nextInt(7)) {
                case 0 -> new Output.Send(conn, r.nextInt(1 << 20), Fuzz.bytes(r, r.nextInt(r.nextBoolean() ? 8 : 120)));
                case 1 -> new Output.Close(conn, r.nextInt(1 << 20));
                case 2 -> new Output.Reset(conn);
                case 3 -> new Output.Window(conn, r.nextInt(1 << 16));
                case 4 -> new Output.TimerRequest(r.nextLong());
                case 5 -> new Output.Log(1 + r.nextInt(2), Fuzz.bytes(r, r.nextInt(40)));
                default -> new Output.Stopped("trap: ünreachable (frame " + r.nextInt(100) + ")");
            });
        }
        return outputs;
    }

    /**
     * The fuzzing loop and its mutations. Every input first goes through a deterministic sweep of each corpus
     * entry (every truncation, every byte set to each interesting value, every 2/4/8-byte field overwritten
     * with each boundary value), then random stacks of mutations: bit flips, byte replacements, truncation,
     * insertion, removal, duplication and splicing of two valid inputs.
     */
    static final class Fuzz {
        private static final int[] BYTES = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE};
        private static final long[] FIELDS = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                Integer.MAX_VALUE, Integer.MIN_VALUE, 0xFFFF_FFFFL, Long.MAX_VALUE, Long.MIN_VALUE};
        private static final com.sun.management.ThreadMXBean THREADS =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

        interface Check {
            void accept(byte[] input) throws Exception;
        }

        private Fuzz() {}

        /**
         * Feeds {@code count} inputs (sweep first, then random mutations) to {@code check}; an input that makes
         * the check throw, or allocate more than 16 KiB + 64 bytes per input byte, fails with seed and hex.
         */
        static void run(String reader, long seed, int count, List<byte[]> corpus, Check check) {
            SplittableRandom r = new SplittableRandom(seed ^ 0x9E37_79B9_7F4A_7C15L);
            List<byte[]> sweep = new ArrayList<>();
            for (int i = 0; i < Math.min(8, corpus.size()); i++) {
                sweep(corpus.get(i), sweep);
            }
            long maxAllocated = 0;
            for (int i = 0; i < count; i++) {
                byte[] input = i < sweep.size() ? sweep.get(i)
                        : mutate(corpus.get(r.nextInt(corpus.size())), corpus.get(r.nextInt(corpus.size())), r);
                long bound = 16_384 + 64L * input.length;
                long allocated = accept(reader, seed, i, input, check);
                if (allocated > bound) {
                    // The first run of a path loads classes and links call sites: measure again, warm.
                    allocated = accept(reader, seed, i, input, check);
                }
                maxAllocated = Math.max(maxAllocated, allocated);
                if (allocated > bound) {
                    fail(reader + " allocated " + allocated + " bytes for an input of " + input.length + " on input #"
                            + i + " of seed " + seed + ": " + HexFormat.of().formatHex(input));
                }
            }
            System.out.printf("%s: %,d inputs (%,d swept), seed %d, at most %,d bytes allocated per input%n",
                    reader, count, Math.min(count, sweep.size()), seed, maxAllocated);
        }

        /** Runs one check; returns the bytes it allocated. */
        private static long accept(String reader, long seed, int i, byte[] input, Check check) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            try {
                check.accept(input);
            } catch (Throwable t) {
                throw new AssertionError(reader + " failed on input #" + i + " of seed " + seed + " (rerun: "
                        + "-Dreplicode.fuzz.seed=" + seed + "): " + t + "\ninput (" + input.length + " bytes): "
                        + HexFormat.of().formatHex(input), t);
            }
            return THREADS.getCurrentThreadAllocatedBytes() - before;
        }

        static void checkOffset(int offset, byte[] input) {
            assertTrue(offset >= 0 && offset <= input.length, "error offset " + offset + " outside the input");
        }

        static byte[] bytes(SplittableRandom r, int n) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) r.nextInt(256);
            }
            return b;
        }

        private static void sweep(byte[] seed, List<byte[]> out) {
            for (int len = 0; len < seed.length; len++) {
                out.add(Arrays.copyOf(seed, len));
            }
            for (int at = 0; at < seed.length; at++) {
                for (int v : BYTES) {
                    byte[] b = seed.clone();
                    b[at] = (byte) v;
                    out.add(b);
                }
            }
            for (int width : new int[] {2, 4, 8}) {
                for (int at = 0; at + width <= seed.length; at++) {
                    for (long v : FIELDS) {
                        byte[] b = seed.clone();
                        put(b, at, width, v);
                        out.add(b);
                    }
                }
            }
        }

        static byte[] mutate(byte[] seed, byte[] other, SplittableRandom r) {
            byte[] b = seed;
            int rounds = r.nextInt(4) == 0 ? 2 + r.nextInt(7) : 1;
            for (int i = 0; i < rounds; i++) {
                b = mutateOnce(b, other, r);
            }
            return b;
        }

        private static byte[] mutateOnce(byte[] b, byte[] other, SplittableRandom r) {
            int n = b.length;
            int op = r.nextInt(9);
            if (n == 0 && op != 4 && op != 6) {
                return b;
            }
            byte[] out;
            switch (op) {
                case 0 -> { // bit flip
                    out = b.clone();
                    out[r.nextInt(n)] ^= (byte) (1 << r.nextInt(8));
                }
                case 1 -> { // interesting byte
                    out = b.clone();
                    out[r.nextInt(n)] = (byte) BYTES[r.nextInt(BYTES.length)];
                }
                case 2 -> { // random byte
                    out = b.clone();
                    out[r.nextInt(n)] = (byte) r.nextInt(256);
                }
                case 3 -> out = Arrays.copyOf(b, r.nextInt(n)); // truncation
                case 4 -> { // insertion
                    int at = r.nextInt(n + 1);
                    byte[] ins = bytes(r, 1 + r.nextInt(16));
                    out = new byte[n + ins.length];
                    System.arraycopy(b, 0, out, 0, at);
                    System.arraycopy(ins, 0, out, at, ins.length);
                    System.arraycopy(b, at, out, at + ins.length, n - at);
                }
                case 5 -> { // removal
                    int at = r.nextInt(n);
                    int len = 1 + r.nextInt(Math.min(16, n - at));
                    out = new byte[n - len];
                    System.arraycopy(b, 0, out, 0, at);
                    System.arraycopy(b, at + len, out, at, n - at - len);
                }
                case 6 -> { // splice: a prefix of one valid input, a suffix of another
                    int head = r.nextInt(n + 1);
                    int tail = r.nextInt(other.length + 1);
                    out = new byte[head + other.length - tail];
                    System.arraycopy(b, 0, out, 0, head);
                    System.arraycopy(other, tail, out, head, other.length - tail);
                }
                case 7 -> { // a field overwritten with a boundary value (lengths, counts: huge, negative, zero)
                    int width = new int[] {1, 2, 4, 8}[r.nextInt(4)];
                    if (n < width) {
                        return b;
                    }
                    out = b.clone();
                    put(out, r.nextInt(n - width + 1), width, FIELDS[r.nextInt(FIELDS.length)] + r.nextInt(3) - 1);
                }
                default -> { // a range duplicated in place
                    int at = r.nextInt(n);
                    int len = 1 + r.nextInt(Math.min(32, n - at));
                    out = new byte[n + len];
                    System.arraycopy(b, 0, out, 0, at + len);
                    System.arraycopy(b, at, out, at + len, n - at);
                }
            }
            return out;
        }

        private static void put(byte[] b, int at, int width, long v) {
            for (int i = 0; i < width; i++) {
                b[at + i] = (byte) (v >>> (8 * (width - 1 - i)));
            }
        }
    }

    @Test
    void the_mutator_reaches_the_length_fields() {
        // A sanity check on the fuzzer itself: a Data event whose length field claims 2^31-1 bytes.
        byte[] good = EventCodec.encodeEvents(List.of(new IngressEvent.Data(1, "hi".getBytes(StandardCharsets.UTF_8))));
        List<byte[]> sweep = new ArrayList<>();
        Fuzz.sweep(good, sweep);
        byte[] huge = good.clone();
        Fuzz.put(huge, 4 + 9, 4, Integer.MAX_VALUE);
        assertTrue(sweep.stream().anyMatch(b -> Arrays.equals(b, huge)));
    }
}
