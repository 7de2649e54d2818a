package io.replicode.fuzz;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fuzzing loop and its mutations. Every input first goes through a deterministic sweep of each corpus
 * entry (every truncation, every byte set to each interesting value, every 2/4/8-byte field overwritten
 * with each boundary value), then random stacks of mutations: bit flips, byte replacements, truncation,
 * insertion, removal, duplication and splicing of two valid inputs. Shared by every module's fuzz tests
 * through nat's test jar.
 */
public final class Fuzz {
    private static final int[] BYTES = {0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE};
    /** Boundary values written into 1, 2, 4 and 8-byte fields. */
    public static final long[] FIELDS = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
            Integer.MAX_VALUE, Integer.MIN_VALUE, 0xFFFF_FFFFL, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    public interface Check {
        void accept(byte[] input) throws Exception;
    }

    private Fuzz() {}

    /**
     * Feeds {@code count} inputs (sweep first, then random mutations) to {@code check}; an input that makes
     * the check throw, or allocate more than {@code bound} of its length, fails with seed and hex.
     */
    /** {@link #run(String, long, int, List, LongUnaryOperator, Check)} with a bound of 16 KiB + 64 bytes per input byte. */
    public static void run(String reader, long seed, int count, List<byte[]> corpus, Check check) {
        run(reader, seed, count, corpus, n -> 16_384 + 64L * n, check);
    }

    public static void run(String reader, long seed, int count, List<byte[]> corpus, LongUnaryOperator bound, Check check) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x9E37_79B9_7F4A_7C15L);
        List<byte[]> sweep = new ArrayList<>();
        for (int i = 0; i < Math.min(8, corpus.size()); i++) {
            sweep(corpus.get(i), sweep);
        }
        long maxAllocated = 0;
        for (int i = 0; i < count; i++) {
            byte[] input = i < sweep.size() ? sweep.get(i)
                    : mutate(corpus.get(r.nextInt(corpus.size())), corpus.get(r.nextInt(corpus.size())), r);
            long limit = bound.applyAsLong(input.length);
            long allocated = accept(reader, seed, i, input, check);
            if (allocated > limit) {
                // The first run of a path loads classes and links call sites: measure again, warm.
                allocated = accept(reader, seed, i, input, check);
            }
            maxAllocated = Math.max(maxAllocated, allocated);
            if (allocated > limit) {
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

    public static void checkOffset(int offset, byte[] input) {
        assertTrue(offset >= 0 && offset <= input.length, "error offset " + offset + " outside the input");
    }

    public static byte[] bytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    public static void sweep(byte[] seed, List<byte[]> out) {
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

    public static byte[] mutate(byte[] seed, byte[] other, SplittableRandom r) {
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

    public static long get(byte[] b, int at, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    public static void put(byte[] b, int at, int width, long v) {
        for (int i = 0; i < width; i++) {
            b[at + i] = (byte) (v >>> (8 * (width - 1 - i)));
        }
    }
}
