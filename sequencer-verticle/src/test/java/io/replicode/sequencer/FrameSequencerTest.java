package io.replicode.sequencer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.EventCodec;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameSequencerTest {
    private static final byte[] E = {1};
    private static final long MS = 1_000_000L;

    private static FrameSequencer sequencer(FrameSequencer.Options o) {
        return new FrameSequencer("kv", 1, o, 0, Frame.GENESIS_HASH, 0);
    }

    private static IngressEvent data(long conn, int bytes) {
        return new IngressEvent.Data(conn, new byte[bytes]);
    }

    @Test
    void idle_app_gets_a_frame_at_once() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        s.offer(data(1, 10), 100);
        Frame f = s.next(100, E);
        assertEquals(1, f.seq());
        assertEquals(1, f.events().size());
        assertNull(s.next(100, E));
    }

    @Test
    void while_a_frame_is_in_flight_events_batch_until_the_interval_or_the_size() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(4, 64 << 10, 2 * MS, 1000));
        s.offer(data(1, 1), 0);
        s.next(0, E);
        s.offer(data(1, 1), 10);
        s.offer(data(2, 1), 20);
        assertNull(s.next(30, E), "frame 1 is not durable yet: wait for more");
        assertEquals(10 + 2 * MS, s.wakeAtNs());
        Frame f = s.next(10 + 2 * MS, E);
        assertEquals(2, f.events().size(), "the interval passed");
        for (int i = 0; i < 4; i++) {
            s.offer(data(3, 1), 3 * MS);
        }
        assertEquals(4, s.next(3 * MS, E).events().size(), "a full batch goes at once");
        s.durable(3);
        s.offer(data(4, 1), 4 * MS);
        assertEquals(4, s.next(4 * MS, E).seq(), "all durable: idle again, cut at once");
    }

    private static final long US = 1_000L;

    /** A sequencer that lingers 250 µs, after a first frame of {@code events} events, made durable at once. */
    private static FrameSequencer afterAFrameOf(int events) {
        FrameSequencer s = sequencer(new FrameSequencer.Options(256, 64 << 10, 2 * MS, 1000, 0, 0, 250 * US));
        for (int i = 0; i < events; i++) {
            s.offer(data(i, 1), 0);
        }
        Frame first = s.next(0, E);
        assertEquals(events, first.events().size(), "nothing in flight and no frame before: cut at once");
        s.durable(first.seq());
        return s;
    }

    @Test
    void under_load_the_first_event_after_a_durable_frame_waits_for_three_quarters_of_the_last_frame() {
        FrameSequencer s = afterAFrameOf(12);
        s.offer(data(1, 1), 100 * US);
        assertNull(s.next(100 * US, E), "the last frame took 12 events: wait for more, though nothing is in flight");
        assertEquals(350 * US, s.wakeAtNs(), "at most 250 µs");
        for (int i = 0; i < 7; i++) {
            s.offer(data(2, 1), 150 * US);
        }
        assertNull(s.next(150 * US, E), "8 waiting, 9 wanted");
        s.offer(data(3, 1), 160 * US);
        Frame f = s.next(160 * US, E);
        assertEquals(9, f.events().size(), "three quarters of 12 waiting: cut");
    }

    @Test
    void the_linger_ends_at_its_time_with_what_came() {
        FrameSequencer s = afterAFrameOf(12);
        s.offer(data(1, 1), 100 * US);
        s.offer(data(2, 1), 200 * US);
        assertNull(s.next(349 * US, E));
        Frame f = s.next(350 * US, E);
        assertEquals(2, f.events().size());
        s.durable(f.seq());
        s.offer(data(1, 1), 400 * US);
        assertEquals(1, s.next(400 * US, E).events().size(), "the last frame took 2 events: not under load, cut at once");
    }

    @Test
    void no_linger_after_a_small_frame_after_a_quiet_spell_or_when_it_is_off() {
        FrameSequencer small = afterAFrameOf(7);
        small.offer(data(1, 1), 100 * US);
        assertEquals(1, small.next(100 * US, E).events().size(), "7 events is no load (a few clients): at once");

        FrameSequencer quiet = afterAFrameOf(12);
        quiet.offer(data(1, 1), 2 * MS);
        assertEquals(2 * MS, quiet.wakeAtNs());
        assertEquals(1, quiet.next(2 * MS, E).events().size(), "the first event came a batch interval after the last cut");

        FrameSequencer off = sequencer(new FrameSequencer.Options(256, 64 << 10, 2 * MS, 1000));
        for (int i = 0; i < 12; i++) {
            off.offer(data(i, 1), 0);
        }
        off.durable(off.next(0, E).seq());
        off.offer(data(1, 1), 100 * US);
        assertEquals(1, off.next(100 * US, E).events().size(), "lingerNs 0: at once");
    }

    @Test
    void large_writes_are_split_and_frames_stay_under_the_byte_cap() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        s.offer(data(1, 200_000), 0);
        s.offer(data(2, 10), 0);
        List<Frame> frames = new ArrayList<>();
        Frame f;
        long t = 0;
        while ((f = s.next(t, E)) != null || s.pendingEvents() > 0) {
            if (f != null) {
                frames.add(f);
                s.durable(f.seq());
            }
            t += MS;
        }
        long total = 0;
        for (Frame fr : frames) {
            int bytes = 0;
            for (IngressEvent e : fr.events()) {
                bytes += EventCodec.size(e);
                if (e instanceof IngressEvent.Data d && d.connection() == 1) {
                    total += d.bytes().length;
                }
            }
            assertTrue(bytes <= 64 << 10, "frame " + fr.seq() + " carries " + bytes + " bytes");
        }
        assertEquals(200_000, total, "every byte of the large write, in order");
        assertTrue(frames.size() >= 4);
    }

    @Test
    void a_replicas_encoded_timer_requests_are_taken_and_anything_else_is_refused() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        byte[] batch = new io.replicode.nat.OutputBatch("kv", 1, 0, List.of(new io.replicode.nat.Output.TimerRequest(70 * MS),
                new io.replicode.nat.Output.Close(3, 0))).encode();
        assertFalse(s.requestTimers(new byte[] {9, 9, 9}), "not an output batch");
        assertEquals(Long.MAX_VALUE, s.wakeAtNs(), "nothing was requested by malformed bytes");
        assertTrue(s.requestTimers(batch));
        assertEquals(70 * MS, s.wakeAtNs(), "only the timer request counts");
        assertEquals(70 * MS, s.next(70 * MS, E).timeNs());
    }

    @Test
    void timers_become_tick_frames_at_their_time() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        s.requestTimer(50 * MS);
        assertEquals(50 * MS, s.wakeAtNs());
        assertNull(s.next(49 * MS, E));
        Frame tick = s.next(50 * MS, E);
        assertTrue(tick.events().isEmpty());
        assertEquals(50 * MS, tick.timeNs());
        assertNull(s.next(60 * MS, E), "one tick per request");
    }

    @Test
    void time_never_decreases_and_frames_chain() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        s.offer(data(1, 1), 100);
        Frame a = s.next(100, E);
        s.durable(1);
        s.offer(data(1, 1), 50);
        Frame b = s.next(50, E);
        assertEquals(100, b.timeNs(), "the clock went back; frame time did not");
        assertArrayEquals(FrameCodec.hash(FrameCodec.encode(a)), b.prevHash());
        assertArrayEquals(FrameCodec.encode(b), s.lastEncoded(), "the kept encoding is the frame's, reused by log and bus");
        assertArrayEquals(Frame.GENESIS_HASH, a.prevHash());
    }

    @Test
    void snapshot_requests_ride_on_every_nth_frame_or_after_t() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(256, 64 << 10, MS, 1000, 3, 50 * MS));
        List<Long> asked = new ArrayList<>();
        long t = 0;
        for (int i = 0; i < 7; i++) {
            s.offer(data(1, 1), t);
            Frame f = s.next(t, E);
            s.durable(f.seq());
            if (f.events().contains(new IngressEvent.SnapshotRequest())) {
                asked.add(f.seq());
            }
            t += MS;
        }
        assertEquals(List.of(3L, 6L), asked, "every third frame");
        s.offer(data(1, 1), 200 * MS);
        Frame late = s.next(200 * MS, E);
        assertTrue(late.events().contains(new IngressEvent.SnapshotRequest()), "50 ms passed since the last request");
    }

    @Test
    void with_a_large_snapshot_a_request_waits_until_the_frames_since_the_last_hold_as_many_bytes() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(256, 64 << 10, MS, 1000, 3, 50 * MS));
        List<Long> asked = new ArrayList<>();
        long frameBytes = 0;
        long bytesAtRequest = -1;
        long t = 0;
        for (int i = 0; i < 40; i++) {
            if (i == 5) {
                s.snapshotBytes(10_000); // the owner learned the newest snapshot's size
            }
            s.offer(data(1, 1000), t);
            Frame f = s.next(t, E);
            s.durable(f.seq());
            if (f.events().contains(new IngressEvent.SnapshotRequest())) {
                asked.add(f.seq());
                bytesAtRequest = frameBytes;
                frameBytes = 0;
            }
            frameBytes += s.lastEncoded().length;
            t += MS;
        }
        // Every third frame while the size is unknown; then not before 10,000 bytes of frames (each about 1.2 KB).
        assertEquals(3L, asked.get(0));
        assertTrue(asked.size() >= 3 && asked.size() <= 5, "requests at " + asked);
        for (int i = 1; i < asked.size(); i++) {
            assertTrue(asked.get(i) - asked.get(i - 1) >= 8, "requests at " + asked + ": 10,000 bytes need 8+ frames");
        }
        assertTrue(bytesAtRequest >= 10_000, "the last request came after " + bytesAtRequest + " bytes");
        // Time alone does not override the byte rule either.
        s.snapshotBytes(Long.MAX_VALUE);
        s.offer(data(1, 1), 500 * MS);
        Frame held = s.next(500 * MS, E);
        assertFalse(held.events().contains(new IngressEvent.SnapshotRequest()));
        s.durable(held.seq());
        s.snapshotBytes(0);
        s.offer(data(1, 1), 501 * MS);
        assertTrue(s.next(501 * MS, E).events().contains(new IngressEvent.SnapshotRequest()), "rule off: time says due");
    }

    @Test
    void too_many_waiting_events_are_refused_not_buffered() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(4, 64 << 10, MS, 4));
        s.offer(data(1, 1), 0);
        s.next(0, E);
        for (int i = 0; i < 4; i++) {
            assertTrue(s.offer(data(1, 1), 1));
        }
        assertFalse(s.offer(data(1, 1), 1));
    }

    @Test
    void a_batch_is_queued_behind_its_mark() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        IngressEvent open = new IngressEvent.Open(1, "resp");
        IngressEvent d = data(1, 5);
        assertTrue(s.offerBatch(new IngressBatch(3, 17, List.of(open, d)), 0));
        assertEquals(List.of(new IngressEvent.Batch(3, 17), open, d), s.next(0, E).events());
    }

    @Test
    void own_events_are_queued_behind_the_sequencer_mark() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        IngressEvent lost = new IngressEvent.GatewayLost(IngressEvent.GatewayLost.ALL);
        assertTrue(s.offerOwn(lost, 0));
        assertEquals(List.of(new IngressEvent.Batch(0, 0), lost), s.next(0, E).events());
    }

    @Test
    void a_batch_larger_than_a_frame_is_split_over_frames_in_order_behind_one_mark() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(3, 64 << 10, MS, 1000));
        List<IngressEvent> events = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            events.add(data(1, 1));
        }
        events.add(data(2, 150_000));
        assertTrue(s.offerBatch(new IngressBatch(4, 2, events), 0));
        List<IngressEvent> all = new ArrayList<>();
        Frame f;
        long t = 0;
        int frames = 0;
        while ((f = s.next(t, E)) != null || s.pendingEvents() > 0) {
            if (f != null) {
                all.addAll(f.events());
                frames++;
                s.durable(f.seq());
            }
            t += MS;
        }
        assertTrue(frames >= 4, frames + " frames");
        assertEquals(new IngressEvent.Batch(4, 2), all.get(0));
        assertEquals(1, all.stream().filter(e -> e instanceof IngressEvent.Batch).count(), "one mark heads the whole batch");
        assertEquals(events.subList(0, 7), all.subList(1, 8));
        assertEquals(150_000, all.subList(8, all.size()).stream().mapToInt(e -> ((IngressEvent.Data) e).bytes().length).sum());
    }

    @Test
    void a_batch_that_would_not_fit_is_refused_whole() {
        FrameSequencer s = sequencer(new FrameSequencer.Options(4, 64 << 10, MS, 6));
        s.offer(data(1, 1), 0);
        s.next(0, E);
        assertTrue(s.offerBatch(new IngressBatch(1, 1, List.of(data(1, 1), data(1, 1))), 1), "3 of 6");
        assertFalse(s.offerBatch(new IngressBatch(1, 2, List.of(data(1, 1), data(1, 1), data(1, 1))), 1),
                "mark + 3 events would make 7");
        assertEquals(3, s.pendingEvents(), "nothing of the refused batch was queued");
        // A Data event split in pieces counts every piece.
        assertFalse(s.offerBatch(new IngressBatch(1, 2, List.of(data(1, 150_000))), 1), "mark + 3 pieces would make 7");
        assertTrue(s.offerBatch(new IngressBatch(1, 2, List.of(data(1, 100_000))), 1), "mark + 2 pieces make 6");
        assertFalse(s.offerOwn(new IngressEvent.GatewayLost(2), 1));
        assertEquals(6, s.pendingEvents());
    }

    @Test
    void gateway_zero_is_the_sequencers_own_and_no_batch_may_claim_it() {
        FrameSequencer s = sequencer(FrameSequencer.Options.DEFAULT);
        assertThrows(IllegalArgumentException.class, () -> s.offerBatch(new IngressBatch(0, 1, List.of(data(1, 1))), 0));
        assertEquals(0, s.pendingEvents());
    }
}
