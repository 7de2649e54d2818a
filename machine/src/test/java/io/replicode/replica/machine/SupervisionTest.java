package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.module;
import static io.replicode.replica.machine.Guests.of;
import static io.replicode.replica.machine.Guests.open;
import static io.replicode.replica.machine.Guests.sent;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A fault never ends an app: the poisonous connections are cut and the frame applied again without them, or the
 * module restarts on the same files; the same on both engines and on every replica, whatever their checkpoint.
 */
class SupervisionTest {
    private static final SupervisionPolicy CHECKPOINT_EVERY_7 = new SupervisionPolicy(5, 1000, 16, 7, 1 << 20);

    private static GuestMachine traps(Engine engine, SupervisionPolicy policy) {
        return GuestMachine.create(module("traps", engine), config("traps", "traps"), policy);
    }

    /** A frame in which connections 1..n each send {@code line}, except those in {@code poison}, which send "div0". */
    private static Frame lines(Guests.Script s, int n, Set<Integer> poison, String line) {
        List<IngressEvent> events = new ArrayList<>();
        for (int c = 1; c <= n; c++) {
            events.add(data(c, (poison.contains(c) ? "div0" : line) + "\n"));
        }
        return s.next(events.toArray(IngressEvent[]::new));
    }

    private static Frame opens(Guests.Script s, int n) {
        List<IngressEvent> events = new ArrayList<>();
        for (int c = 1; c <= n; c++) {
            events.add(open(c, "traps"));
        }
        return s.next(events.toArray(IngressEvent[]::new));
    }

    @Test
    void poisonous_connections_among_many_are_reset_and_the_others_keep_their_sessions_on_both_engines() {
        List<List<Output>> outs = new ArrayList<>();
        List<byte[]> digests = new ArrayList<>();
        for (Engine engine : Engine.values()) {
            try (GuestMachine m = traps(engine, SupervisionPolicy.DEFAULT)) {
                Guests.Script s = new Guests.Script();
                m.apply(s.next());
                m.apply(opens(s, 20));
                List<Output> out = m.apply(lines(s, 20, Set.of(5, 17), "ok"));
                for (int c = 1; c <= 20; c++) {
                    if (c != 5 && c != 17) {
                        assertEquals("ok\n", sent(out, c), engine + " connection " + c + " is answered in the same frame");
                    }
                }
                assertEquals(List.of(new Output.Reset(5), new Output.Reset(17)), of(out, Output.Reset.class));
                String report = of(out, Output.Recovered.class).get(0).report();
                assertTrue(report.startsWith("trap: integer divide by zero (frame 3): rolled back"), report);
                assertTrue(report.contains("2 connections "), report);
                assertEquals(2, m.status().connectionsCut());
                List<Output> later = m.apply(lines(s, 20, Set.of(), "ok"));
                for (int c = 1; c <= 20; c++) {
                    if (c != 5 && c != 17) {
                        assertEquals("ok\n", sent(later, c), "connection " + c + " goes on");
                    }
                }
                assertEquals(GuestMachine.State.PARKED, m.state());
                outs.add(out);
                outs.add(later);
                digests.add(m.digest());
            }
        }
        assertEquals(outs.get(0), outs.get(2), "the same outputs on both engines");
        assertEquals(outs.get(1), outs.get(3));
        assertArrayEquals(digests.get(0), digests.get(1), "the same state on both engines");
    }

    @Test
    void replicas_with_different_checkpoints_roll_back_to_the_same_state() {
        try (GuestMachine a = traps(Engine.COMPILER, CHECKPOINT_EVERY_7);
             GuestMachine b = traps(Engine.COMPILER, SupervisionPolicy.DEFAULT);
             GuestMachine c = traps(Engine.INTERPRETER, CHECKPOINT_EVERY_7)) {
            Guests.Script s = new Guests.Script();
            List<Frame> frames = new ArrayList<>();
            frames.add(s.next());
            frames.add(opens(s, 6));
            for (int i = 0; i < 24; i++) {
                frames.add(lines(s, 6, Set.of(), "ok"));
            }
            frames.add(lines(s, 6, Set.of(4), "ok"));
            frames.add(lines(s, 6, Set.of(), "ok"));
            Frame snapshotAt = frames.get(12);
            for (Frame f : frames) {
                List<Output> outA = a.apply(f);
                assertEquals(outA, b.apply(f), "frame " + f.seq());
                if (f == snapshotAt) {
                    // c joins here from a snapshot, as a restarted replica would: its checkpoint starts there.
                    c.restore(a.snapshot());
                } else if (f.seq() > snapshotAt.seq()) {
                    assertEquals(outA, c.apply(f), "frame " + f.seq());
                }
                assertArrayEquals(a.digest(), b.digest(), "frame " + f.seq());
            }
            assertArrayEquals(a.digest(), c.digest());
            assertEquals(1, c.status().rollbacks());
            assertEquals(a.status().lastFault(), c.status().lastFault());
        }
    }

    @Test
    void a_module_that_faults_at_start_stops_after_the_crash_loop_bound_and_says_why() {
        // 100 instructions are not enough for the C runtime to reach main: every start runs out of fuel.
        GuestConfig cfg = config("rec", "rec").withLimits(GuestLimits.DEFAULT.withFuelPerFrame(100));
        try (GuestMachine m = GuestMachine.create(module("recursion", Engine.COMPILER), cfg)) {
            Guests.Script s = new Guests.Script();
            List<Output> out = m.apply(s.next());
            assertEquals(GuestMachine.State.STOPPED, m.state());
            assertTrue(m.stopReason().startsWith("crash loop: 5 faults within 1000 frames; last: fuel exhausted"),
                    m.stopReason());
            assertTrue(m.stopReason().contains("Fix: "), m.stopReason());
            assertEquals(List.of(new Output.Stopped(m.stopReason())), of(out, Output.Stopped.class));
            assertEquals(4, of(out, Output.Recovered.class).size(), "four restarts before the fifth fault stops it");
            assertEquals(4, m.status().restarts());
            assertEquals(List.of(new Output.Reset(9)), m.apply(s.next(open(9, "rec"))), "a stopped app refuses connections");
        }
    }

    @Test
    void an_operator_restart_keeps_the_files_resets_the_connections_and_starts_afresh() {
        try (GuestMachine m = GuestMachine.create(module("probe", Engine.COMPILER), config("probe", "probe"))) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            List<Output> wrote = m.apply(s.next(open(1, "probe"), data(1, "quota 1000\n"), open(2, "probe")));
            assertEquals("wrote 1000 errno OK\n", sent(wrote, 1));
            List<Output> out = m.apply(s.next(new IngressEvent.Restart()));
            assertEquals(Set.of(1L, 2L), new TreeSet<>(of(out, Output.Reset.class).stream().map(Output.Reset::connection).toList()));
            assertEquals("restarted on request at frame 3; 2 connection(s) reset", of(out, Output.Recovered.class).get(0).report());
            assertEquals(1, m.status().restarts());
            List<Output> listing = m.apply(s.next(open(3, "probe"), data(3, "files\n")));
            assertTrue(sent(listing, 3).contains("big.bin"), sent(listing, 3));
            assertEquals(List.of(new Output.Reset(2)), m.apply(s.next(data(2, "files\n"))),
                    "the old connections are gone: bytes still sent on one are answered with a reset, as TCP does");
        }
    }

    @Test
    void an_operator_restart_brings_a_stopped_app_back() {
        try (GuestMachine m = traps(Engine.COMPILER, SupervisionPolicy.DEFAULT);
             GuestMachine replica = traps(Engine.INTERPRETER, SupervisionPolicy.DEFAULT)) {
            Guests.Script s = new Guests.Script();
            List<Frame> frames = List.of(s.next(), s.next(open(1, "traps"), data(1, "exit 0\n")),
                    s.next(new IngressEvent.Restart()), s.next(open(2, "traps"), data(2, "ok\n")));
            List<Output> last = List.of();
            for (Frame f : frames) {
                last = m.apply(f);
                assertEquals(last, replica.apply(f));
                if (f.seq() == 2) {
                    assertEquals(GuestMachine.State.STOPPED, m.state());
                }
            }
            assertEquals("ok\n", sent(last, 2));
            assertEquals(GuestMachine.State.PARKED, m.state());
            assertArrayEquals(m.digest(), replica.digest());
        }
    }

    @Test
    void a_guest_on_a_blocking_thread_is_restarted_on_a_new_thread() {
        try (GuestMachine m = GuestMachine.create(module("echo_server.plain", Engine.COMPILER), config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            assertEquals("thread", m.status().waitMode());
            assertEquals("abc", sent(m.apply(s.next(open(1, "echo"), data(1, "abc"))), 1));
            List<Output> out = m.apply(s.next(new IngressEvent.Restart()));
            assertEquals(List.of(new Output.Reset(1)), of(out, Output.Reset.class));
            assertEquals("xyz", sent(m.apply(s.next(open(2, "echo"), data(2, "xyz"))), 2), "the new process serves");
            assertEquals(GuestMachine.State.PARKED, m.state());
        }
    }

    @Test
    void the_crash_loop_counts_only_faults_within_its_window() {
        FaultRecord r = new FaultRecord();
        assertEquals(1, r.restartFault(10, 100));
        assertEquals(2, r.restartFault(50, 100));
        assertEquals(2, r.restartFault(140, 100), "the fault at frame 10 left the window");
        r.forgetRecentFaults();
        assertEquals(1, r.restartFault(141, 100));
    }
}
