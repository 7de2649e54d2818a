package io.replicode.nat;

import io.replicode.fuzz.Fuzz;
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
            if (batch.events().stream().noneMatch(CodecFuzzTest::writesFixedConnection)) {
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
        if (events.stream().noneMatch(CodecFuzzTest::writesFixedConnection)) {
            assertArrayEquals(input, again, "re-encoding gives the decoded bytes");
        } else {
            assertEquals(input.length, again.length);
        }
    }

    private static boolean writesFixedConnection(IngressEvent e) {
        return e instanceof IngressEvent.SnapshotRequest;
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
            events.add(switch (r.nextInt(10)) {
                case 0 -> new IngressEvent.Open(conn, r.nextBoolean() ? "resp" : "lïstener-" + r.nextInt(100));
                case 1 -> new IngressEvent.Data(conn, Fuzz.bytes(r, r.nextInt(r.nextBoolean() ? 8 : 120)));
                case 2 -> new IngressEvent.HalfClose(conn);
                case 3 -> new IngressEvent.Reset(conn);
                case 4 -> new IngressEvent.Window(conn, r.nextInt(1 << 20));
                case 5 -> new IngressEvent.GatewayLost(r.nextInt(3) - 1);
                case 6 -> new IngressEvent.Batch(r.nextInt(4), r.nextBoolean() ? r.nextInt(100) : r.nextLong(Long.MAX_VALUE));
                case 7 -> new IngressEvent.Restart();
                case 8 -> new IngressEvent.Upgrade(java.util.HexFormat.of().formatHex(Fuzz.bytes(r, 32)),
                        1 + r.nextInt(IngressEvent.Upgrade.MAX_GRACE_FRAMES));
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
            outputs.add(switch (r.nextInt(9)) {
                case 0 -> new Output.Send(conn, r.nextInt(1 << 20), Fuzz.bytes(r, r.nextInt(r.nextBoolean() ? 8 : 120)));
                case 1 -> new Output.Close(conn, r.nextInt(1 << 20));
                case 2 -> new Output.Reset(conn);
                case 3 -> new Output.Window(conn, r.nextInt(1 << 16));
                case 4 -> new Output.TimerRequest(r.nextLong());
                case 5 -> new Output.Log(1 + r.nextInt(2), Fuzz.bytes(r, r.nextInt(40)));
                case 6 -> new Output.Recovered("rolled back frame " + r.nextInt(100) + ": reset connection 7");
                case 7 -> new Output.Upgraded(java.util.HexFormat.of().formatHex(Fuzz.bytes(r, 32)), "stopped after "
                        + r.nextInt(100) + " frames of grace");
                default -> new Output.Stopped("trap: ünreachable (frame " + r.nextInt(100) + ")");
            });
        }
        return outputs;
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
