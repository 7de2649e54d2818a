package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.T0;
import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.machine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Random interleavings of many clients' connects, data, half-closes, resets and window grants, grouped
 * into frames at random, give identical outputs and digests on every machine after every frame; so do
 * the same workloads as marked gateway batches with copies resent, which reach no guest.
 */
class DeterminismPropertyTest {

    /** A random client workload for the echo guest, reproducible from its seed. */
    static List<Frame> workload(long seed, int frames) {
        Random r = new Random(seed);
        List<Frame> out = new ArrayList<>();
        List<Long> open = new ArrayList<>();
        long nextConn = 1;
        long time = T0;
        for (int seq = 1; seq <= frames; seq++) {
            List<IngressEvent> events = new ArrayList<>();
            int n = r.nextInt(8);
            for (int i = 0; i < n; i++) {
                int action = r.nextInt(100);
                if (open.isEmpty() || (action < 15 && open.size() < 24)) {
                    long c = nextConn++;
                    open.add(c);
                    events.add(new IngressEvent.Open(c, "echo"));
                } else if (action < 75) {
                    long c = open.get(r.nextInt(open.size()));
                    byte[] b = new byte[1 + r.nextInt(r.nextInt(10) == 0 ? 3000 : 200)];
                    r.nextBytes(b);
                    events.add(new IngressEvent.Data(c, b));
                } else if (action < 83) {
                    long c = open.remove(r.nextInt(open.size()));
                    events.add(new IngressEvent.HalfClose(c));
                } else if (action < 88) {
                    long c = open.remove(r.nextInt(open.size()));
                    events.add(new IngressEvent.Reset(c));
                } else if (action < 96) {
                    long c = open.get(r.nextInt(open.size()));
                    events.add(new IngressEvent.Window(c, r.nextInt(5000)));
                } else {
                    // Events about connections nobody opened must be ignored identically everywhere.
                    events.add(new IngressEvent.Data(10_000 + r.nextInt(5), new byte[] {1}));
                }
            }
            time += r.nextInt(3) * 1_000_000L;
            byte[] entropy = new byte[8];
            r.nextBytes(entropy);
            out.add(new Frame("echo", 1, seq, time, entropy, events));
        }
        return out;
    }

    /**
     * A workload as sent by gateway 1 through a sequencer that failed over now and then: the frames of
     * {@link #workload}, each one batch behind its mark, and copies of earlier batches resent in a frame of
     * their own, split over two frames, or ahead of the next batch in its frame.
     *
     * @param frames    what the replicas apply
     * @param originals the workload without marks or copies: what the guest must see
     * @param copies    batches resent
     * @param copiedEvents events in those copies (marks not counted)
     */
    record Resent(List<Frame> frames, List<Frame> originals, int copies, int copiedEvents) {}

    static Resent workloadWithResends(long seed, int batches) {
        List<Frame> originals = workload(seed, batches);
        Random r = new Random(~seed);
        List<List<IngressEvent>> sent = new ArrayList<>();
        List<Frame> out = new ArrayList<>();
        List<IngressEvent> ahead = new ArrayList<>();
        int copies = 0;
        int copiedEvents = 0;
        long time = T0;
        for (Frame f : originals) {
            List<IngressEvent> batch = new ArrayList<>();
            batch.add(new IngressEvent.Batch(1, f.seq()));
            batch.addAll(f.events());
            sent.add(batch);
            time = f.timeNs();
            List<IngressEvent> events = new ArrayList<>(ahead);
            ahead.clear();
            events.addAll(batch);
            out.add(new Frame("echo", 1, out.size() + 1, time, f.entropy(), events));
            if (r.nextInt(4) != 0) {
                continue;
            }
            List<IngressEvent> copy = sent.get(r.nextInt(sent.size()));
            copies++;
            copiedEvents += copy.size() - 1;
            switch (r.nextInt(3)) {
                case 0 -> out.add(resendFrame(out.size() + 1, time, r, copy));
                case 1 -> {
                    int cut = 1 + r.nextInt(copy.size());
                    out.add(resendFrame(out.size() + 1, time, r, copy.subList(0, cut)));
                    out.add(resendFrame(out.size() + 1, time, r, copy.subList(cut, copy.size())));
                }
                default -> ahead.addAll(copy);
            }
        }
        if (!ahead.isEmpty()) {
            out.add(resendFrame(out.size() + 1, time, r, ahead));
        }
        return new Resent(out, originals, copies, copiedEvents);
    }

    private static Frame resendFrame(int seq, long time, Random r, List<IngressEvent> events) {
        byte[] entropy = new byte[8];
        r.nextBytes(entropy);
        return new Frame("echo", 1, seq, time, entropy, List.copyOf(events));
    }

    @Property(tries = 25)
    void replicas_agree_after_every_frame(@ForAll long seed) {
        List<Frame> frames = workload(seed, 40);
        try (GuestMachine a = runAndCompare(frames, frames, seed)) {
            assertEquals(0, a.status().duplicateBatches());
        }
    }

    @Property(tries = 15)
    void replicas_agree_and_resent_batches_reach_no_guest(@ForAll long seed) {
        Resent w = workloadWithResends(seed, 40);
        try (GuestMachine a = runAndCompare(w.frames(), w.originals(), seed)) {
            assertEquals(w.copies(), a.status().duplicateBatches(), "every copy dropped (seed " + seed + ")");
            assertEquals(w.copiedEvents(), a.status().duplicateEvents());
        }
    }

    /**
     * Applies {@code frames} on two compiled machines and an interpreted one, comparing outputs and digests
     * after every frame, and checks each connection's echo is a prefix of what its client sent in
     * {@code originals}. Returns the first machine, still open.
     */
    private static GuestMachine runAndCompare(List<Frame> frames, List<Frame> originals, long seed) {
        // A small send window makes the guest block on sends and resume on window grants.
        var cfg = config("echo", "echo").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withSendWindowBytes(700));
        GuestMachine a = machine("echo_server", Engine.COMPILER, cfg);
        try (GuestMachine b = machine("echo_server", Engine.COMPILER, cfg);
             GuestMachine c = machine("echo_server", Engine.INTERPRETER, cfg)) {
            Map<Long, ByteArrayOutputStream> received = new TreeMap<>();
            Map<Long, ByteArrayOutputStream> echoed = new HashMap<>();
            GuestMachine.StateCopy reused = null;
            for (Frame f : frames) {
                List<Output> oa = a.apply(f);
                List<Output> ob = b.apply(f);
                List<Output> oc = c.apply(f);
                assertEquals(oa, ob, "compiler replicas differ at frame " + f.seq() + " (seed " + seed + ")");
                assertEquals(oa, oc, "interpreter differs at frame " + f.seq() + " (seed " + seed + ")");
                String da = HexFormat.of().formatHex(a.digest());
                assertEquals(da, HexFormat.of().formatHex(b.digest()), "digest at frame " + f.seq());
                assertEquals(da, HexFormat.of().formatHex(c.digest()), "interpreter digest at frame " + f.seq());
                assertEquals(da, HexFormat.of().formatHex(b.stateCopy(null).digest()),
                        "a state copy hashed later (as replicas do) has the digest, at frame " + f.seq());
                reused = b.stateCopy(reused);
                assertEquals(da, HexFormat.of().formatHex(reused.digest()),
                        "a state copy written over an earlier one has the digest of this frame only, at frame " + f.seq());
                for (Output o : oa) {
                    if (o instanceof Output.Send s) {
                        ByteArrayOutputStream bo = echoed.computeIfAbsent(s.connection(), k -> new ByteArrayOutputStream());
                        assertEquals(bo.size(), s.offset(), "send offsets are contiguous");
                        bo.writeBytes(s.bytes());
                    }
                }
            }
            assertEquals(GuestMachine.State.PARKED, a.state(), String.valueOf(a.stopReason()));
            for (Frame f : originals) {
                for (IngressEvent e : f.events()) {
                    if (e instanceof IngressEvent.Data d && d.connection() < 10_000) {
                        received.computeIfAbsent(d.connection(), k -> new ByteArrayOutputStream()).writeBytes(d.bytes());
                    }
                }
            }
            // The echo guest's answers are a prefix of what each client sent.
            for (var e : echoed.entrySet()) {
                byte[] in = received.get(e.getKey()).toByteArray();
                byte[] outBytes = e.getValue().toByteArray();
                assertTrue(outBytes.length <= in.length);
                assertArrayEquals(java.util.Arrays.copyOf(in, outBytes.length), outBytes, "echo of connection " + e.getKey());
            }
            return a;
        } catch (RuntimeException | Error e) {
            a.close();
            throw e;
        }
    }

    @Property(tries = 12)
    void snapshot_at_any_frame_continues_exactly_like_the_uninterrupted_run(
            @ForAll long seed, @ForAll @IntRange(min = 1, max = 29) int cut, @ForAll boolean restoreOnInterpreter) {
        // With copies resent, the cut may fall inside a copy that the next frames continue.
        List<Frame> frames = workloadWithResends(seed, 24).frames();
        cut = Math.min(cut, frames.size() - 1);
        var cfg = config("echo", "echo").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withSendWindowBytes(700));
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, cfg);
             GuestMachine b = machine("echo_server", restoreOnInterpreter ? Engine.INTERPRETER : Engine.COMPILER, cfg)) {
            for (Frame f : frames.subList(0, cut)) {
                a.apply(f);
            }
            byte[] snap = a.snapshot();
            b.restore(snap);
            assertArrayEquals(a.digest(), b.digest(), "restored state has the snapshot's digest");
            assertEquals(a.lastSeq(), b.lastSeq());
            for (Frame f : frames.subList(cut, frames.size())) {
                assertEquals(a.apply(f), b.apply(f), "outputs after restore differ at frame " + f.seq());
                assertArrayEquals(a.digest(), b.digest(), "digest after restore differs at frame " + f.seq());
            }
        }
    }
}
