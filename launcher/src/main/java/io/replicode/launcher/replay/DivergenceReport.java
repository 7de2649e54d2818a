package io.replicode.launcher.replay;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.Output;
import io.replicode.replay.DigestLog.SendSummary;
import io.replicode.replica.verticle.ReplicaVerticle;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a person needs to see about the first frame where two computations parted: the frame and its events,
 * and the first connection whose bytes differ, as text and hex at stream offsets.
 */
final class DivergenceReport {
    private static final String INDENT = "  ";

    private DivergenceReport() {}

    /** Re-execution against a replica's record: the record has digests and send summaries, not bytes. */
    static String of(Verifier.Diverged d, int replica) {
        StringBuilder b = new StringBuilder();
        Frame f = d.frame();
        b.append("DIVERGENCE at frame ").append(f.seq()).append(": this re-execution differs from replica ").append(replica)
                .append("'s record\n");
        frame(b, f);
        if (!d.outputsDiffer()) {
            b.append(INDENT).append("outputs agree (sha256 ").append(FrameText.hex(d.produced().outputsDigest())).append(")\n");
            b.append(INDENT).append("state diverged without different outputs: state digest expected ")
                    .append(FrameText.hex(d.expected().stateDigest())).append(", produced ")
                    .append(FrameText.hex(d.produced().stateDigest())).append('\n');
            int every = ReplicaVerticle.STATE_DIGEST_EVERY_FRAMES;
            b.append(INDENT).append("(replicas record the state every ").append(every)
                    .append(" frames, less often for a memory over 2 MiB: it parted after the previous state record,")
                    .append(" without changing any output so far)\n");
            return b.toString();
        }
        b.append(INDENT).append("outputs digest: expected ").append(FrameText.hex(d.expected().outputsDigest()))
                .append(", produced ").append(FrameText.hex(d.produced().outputsDigest())).append('\n');
        List<SendSummary> want = d.expected().sends();
        List<SendSummary> got = d.produced().sends();
        int i = 0;
        while (i < Math.max(want.size(), got.size()) && Objects.equals(at(want, i), at(got, i))) {
            i++;
        }
        if (i == Math.max(want.size(), got.size())) {
            b.append(INDENT).append("the ").append(want.size()).append(" sends agree; the difference is in the other outputs "
                    + "(close, reset, window, timer, log, stop), which the record holds only as part of the digest. Produced:\n");
            otherOutputs(b, d.outputs());
            return b.toString();
        }
        SendSummary e = at(want, i);
        SendSummary p = at(got, i);
        long connection = e != null ? e.connection() : p.connection();
        long offset = e != null ? e.offset() : p.offset();
        b.append(INDENT).append("first differing send: connection ").append(ConnectionIds.format(connection))
                .append(" at stream offset ").append(offset).append('\n');
        b.append(INDENT).append(INDENT).append("expected ").append(summary(e)).append('\n');
        b.append(INDENT).append(INDENT).append("produced ").append(summary(p)).append('\n');
        if (p != null) {
            byte[] bytes = sent(d.outputs(), p.connection(), p.offset());
            b.append(INDENT).append(INDENT).append("produced bytes of ").append(ConnectionIds.format(p.connection()))
                    .append(" in this frame from offset ").append(p.offset()).append(" (").append(bytes.length).append("):\n");
            b.append(FrameText.dump(INDENT + INDENT + INDENT, bytes, p.offset(), p.offset(), -1));
        }
        return b.toString();
    }

    /** A canary against the recorded module: here both sides' bytes are at hand. */
    static String canary(Verifier.CanaryDiffered d, String canaryName) {
        StringBuilder b = new StringBuilder();
        Frame f = d.frame();
        b.append("CANARY DIFFERS at frame ").append(f.seq()).append(": ").append(canaryName)
                .append(" answers differently from the recorded module\n");
        frame(b, f);
        Set<Long> connections = new LinkedHashSet<>();
        for (List<Output> side : List.of(d.recorded(), d.canary())) {
            for (Output o : side) {
                if (o instanceof Output.Send s) {
                    connections.add(s.connection());
                }
            }
        }
        for (long c : connections) {
            long want = start(d.recorded(), c);
            long got = start(d.canary(), c);
            byte[] expected = sent(d.recorded(), c, Long.MIN_VALUE);
            byte[] produced = sent(d.canary(), c, Long.MIN_VALUE);
            if (want == got && Arrays.equals(expected, produced)) {
                continue;
            }
            long first = firstDifference(want, expected, got, produced);
            // Some context before the first difference, on a 16-byte line boundary.
            long from = Math.max(0, (first - 32) & ~15L);
            b.append(INDENT).append("first differing connection: ").append(ConnectionIds.format(c))
                    .append(", first differing byte at stream offset ").append(first).append('\n');
            b.append(INDENT).append("expected (recorded module): ").append(sendsLine(expected, want)).append('\n');
            if (want >= 0) {
                b.append(FrameText.dump(INDENT + INDENT, expected, want, from, first));
            }
            b.append(INDENT).append("produced (").append(canaryName).append("): ").append(sendsLine(produced, got)).append('\n');
            if (got >= 0) {
                b.append(FrameText.dump(INDENT + INDENT, produced, got, from, first));
            }
            return b.toString();
        }
        b.append(INDENT).append("the bytes sent agree; the first close, reset or stop that differs:\n");
        firstDifferent(b, nonSends(Verifier.clientVisible(d.recorded())), nonSends(Verifier.clientVisible(d.canary())),
                canaryName);
        return b.toString();
    }

    /** The first difference in outputs no client sees (logs, windows, timers), as a note. */
    static String quiet(Verifier.Quiet q, String canaryName) {
        StringBuilder b = new StringBuilder();
        b.append("note: outputs that no client sees (logs, windows, timer requests) first differ at frame ")
                .append(q.seq()).append(", which is not counted as a difference:\n");
        firstDifferent(b, nonSends(q.recorded()), nonSends(q.canary()), canaryName);
        return b.toString();
    }

    private static void firstDifferent(StringBuilder b, List<Output> want, List<Output> got, String canaryName) {
        int i = 0;
        while (i < Math.max(want.size(), got.size()) && Objects.equals(at(want, i), at(got, i))) {
            i++;
        }
        b.append(INDENT).append(INDENT).append("expected (recorded module): ")
                .append(at(want, i) == null ? "nothing" : FrameText.output(at(want, i))).append('\n');
        b.append(INDENT).append(INDENT).append("produced (").append(canaryName).append("): ")
                .append(at(got, i) == null ? "nothing" : FrameText.output(at(got, i))).append('\n');
    }

    /** Stream offset of the first byte that differs between two runs of sends (start -1: nothing sent). */
    private static long firstDifference(long want, byte[] expected, long got, byte[] produced) {
        if (want < 0 || got < 0) {
            return Math.max(want, got);
        }
        if (want != got) {
            return Math.min(want, got);
        }
        return want + Arrays.mismatch(expected, produced);
    }

    private static void frame(StringBuilder b, Frame f) {
        b.append(INDENT).append("time ").append(FrameText.instant(f.timeNs())).append(" (").append(f.timeNs())
                .append(" ns), epoch ").append(f.epoch()).append(", ").append(f.events().size())
                .append(f.events().size() == 1 ? " event:\n" : " events:\n");
        b.append(FrameText.events(f, INDENT + INDENT, FrameText.EVENTS_SHOWN));
    }

    private static String summary(SendSummary s) {
        if (s == null) {
            return "no send";
        }
        return String.format(java.util.Locale.ROOT, "%d bytes at offset %d of %s, crc32c %08x", s.length(), s.offset(),
                ConnectionIds.format(s.connection()), s.crc());
    }

    private static String sendsLine(byte[] bytes, long start) {
        return start < 0 ? "nothing sent in this frame" : bytes.length + " bytes from stream offset " + start;
    }

    /** Bytes sent to {@code connection} in this frame, from its first send at or after {@code fromOffset}. */
    private static byte[] sent(List<Output> outputs, long connection, long fromOffset) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Output o : outputs) {
            if (o instanceof Output.Send s && s.connection() == connection && (b.size() > 0 || s.offset() >= fromOffset)) {
                b.writeBytes(s.bytes());
            }
        }
        return b.toByteArray();
    }

    /** Stream offset of the first send to {@code connection} in this frame, or -1. */
    private static long start(List<Output> outputs, long connection) {
        for (Output o : outputs) {
            if (o instanceof Output.Send s && s.connection() == connection) {
                return s.offset();
            }
        }
        return -1;
    }

    private static List<Output> nonSends(List<Output> outputs) {
        List<Output> out = new ArrayList<>();
        for (Output o : outputs) {
            if (!(o instanceof Output.Send)) {
                out.add(o);
            }
        }
        return out;
    }

    private static void otherOutputs(StringBuilder b, List<Output> outputs) {
        List<Output> others = nonSends(outputs);
        for (int i = 0; i < others.size() && i < FrameText.EVENTS_SHOWN; i++) {
            b.append(INDENT).append(INDENT).append(FrameText.output(others.get(i))).append('\n');
        }
        if (others.size() > FrameText.EVENTS_SHOWN) {
            b.append(INDENT).append(INDENT).append("... and ").append(others.size() - FrameText.EVENTS_SHOWN).append(" more\n");
        }
        if (others.isEmpty()) {
            b.append(INDENT).append(INDENT).append("(none)\n");
        }
    }

    private static <T> T at(List<T> list, int i) {
        return i < list.size() ? list.get(i) : null;
    }
}
