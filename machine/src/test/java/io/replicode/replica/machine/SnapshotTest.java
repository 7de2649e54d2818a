package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.machine;
import static io.replicode.replica.machine.Guests.open;
import static io.replicode.replica.machine.Guests.sent;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Snapshots carry every part of the state, and bad snapshots are refused with a clear error. */
class SnapshotTest {

    @Test
    void snapshot_while_parked_in_a_timed_poll_keeps_files_random_and_the_timer() {
        try (GuestMachine a = machine("probe", Engine.COMPILER, config("probe", "probe"));
             GuestMachine b = machine("probe", Engine.INTERPRETER, config("probe", "probe"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "probe"), data(1, "files\n")));
            a.apply(s.next(open(2, "probe"), data(2, "random 4\n")));
            a.apply(s.next(open(3, "probe"), data(3, "sleep 30\n")));
            long deadline = s.timeNs + 30_000_000L;

            b.restore(a.snapshot());
            assertArrayEquals(a.digest(), b.digest());
            Guests.Script s2 = new Guests.Script();
            s2.seq = s.seq;
            s2.timeNs = s.timeNs;
            List<Output> oa = a.apply(s.next(open(4, "probe"), data(4, "random 8\nfiles\n")));
            List<Output> ob = b.apply(s2.next(open(4, "probe"), data(4, "random 8\nfiles\n")));
            assertEquals(oa, ob, "random stream and files continue identically");
            oa = a.apply(s.at(deadline));
            ob = b.apply(s2.at(deadline));
            assertEquals(oa, ob);
            assertTrue(sent(ob, 3).startsWith("slept monotonic "), "the pending sleep wakes after restore: " + sent(ob, 3));
        }
    }

    @Test
    void a_snapshot_compressed_off_the_guest_thread_is_the_snapshot_and_both_forms_restore() throws Exception {
        try (GuestMachine a = machine("probe", Engine.COMPILER, config("probe", "probe"));
             GuestMachine b = machine("probe", Engine.COMPILER, config("probe", "probe"));
             GuestMachine c = machine("probe", Engine.COMPILER, config("probe", "probe"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "probe"), data(1, "files\n")));
            byte[] uncompressed = a.snapshotUncompressed();
            byte[] compressed = java.util.concurrent.CompletableFuture.supplyAsync(() -> GuestMachine.compress(uncompressed)).get();
            assertArrayEquals(a.snapshot(), compressed, "the same bytes as snapshot()");
            assertTrue(compressed.length < uncompressed.length, compressed.length + " < " + uncompressed.length);
            assertArrayEquals(compressed, GuestMachine.compress(compressed), "a compressed snapshot is left as it is");
            b.restore(uncompressed);
            c.restore(compressed);
            assertArrayEquals(a.digest(), b.digest());
            assertArrayEquals(a.digest(), c.digest());
        }
    }

    @Test
    void snapshot_of_a_stopped_app_restores_stopped() {
        try (GuestMachine a = machine("traps", Engine.COMPILER, config("traps", "traps"));
             GuestMachine b = machine("traps", Engine.COMPILER, config("traps", "traps"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "traps"), data(1, "exit 0\n")));
            assertEquals(GuestMachine.State.STOPPED, a.state());
            b.restore(a.snapshot());
            assertEquals(GuestMachine.State.STOPPED, b.state());
            assertEquals(a.stopReason(), b.stopReason());
        }
    }

    @Test
    void snapshot_after_a_rollback_restores_the_fault_record_and_goes_on_alike() {
        try (GuestMachine a = machine("traps", Engine.COMPILER, config("traps", "traps"));
             GuestMachine b = machine("traps", Engine.INTERPRETER, config("traps", "traps"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "traps"), data(1, "div0\n"), open(2, "traps")));
            assertEquals(1, a.status().rollbacks());
            b.restore(a.snapshot());
            assertArrayEquals(a.digest(), b.digest());
            assertEquals(a.status().lastFault(), b.status().lastFault());
            assertEquals(1, b.status().rollbacks());
            Frame next = s.next(data(2, "ok\n"));
            assertEquals(a.apply(next), b.apply(next));
            assertArrayEquals(a.digest(), b.digest());
        }
    }

    private static byte[] sampleSnapshot() {
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "echo"), data(1, "buffered bytes")));
            return a.snapshot();
        }
    }

    private static SnapshotException restoreFails(byte[] snapshot) {
        try (GuestMachine b = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            return assertThrows(SnapshotException.class, () -> b.restore(snapshot));
        }
    }

    @Test
    void corrupted_magic_rejected() {
        byte[] snap = sampleSnapshot();
        snap[0] = 'X';
        assertTrue(restoreFails(snap).getMessage().contains("bad magic"));
    }

    @Test
    void unknown_version_rejected() {
        byte[] snap = sampleSnapshot();
        snap[9] = 9;
        assertTrue(restoreFails(snap).getMessage().contains("version 9 is not supported"));
    }

    @Test
    void absurd_length_rejected_before_allocation() {
        byte[] snap = sampleSnapshot();
        snap[12] = (byte) 0x7F;
        assertTrue(restoreFails(snap).getMessage().contains("exceeds what this app's limits allow"));
    }

    @Test
    void a_raw_size_deflate_cannot_produce_is_refused_before_allocating() {
        byte[] snap = sampleSnapshot();
        // 300 MiB: under the app's cap, but far more than the stored bytes can inflate to.
        java.nio.ByteBuffer.wrap(snap).putInt(12, 300 << 20);
        assertTrue(restoreFails(snap).getMessage().contains("more than deflate can produce"));
    }

    @Test
    void truncated_snapshot_rejected() {
        byte[] snap = sampleSnapshot();
        byte[] cut = java.util.Arrays.copyOf(snap, snap.length - 10);
        assertTrue(restoreFails(cut).getMessage().contains("truncated"));
    }

    @Test
    void flipped_bits_are_detected_or_harmless() {
        byte[] snap = sampleSnapshot();
        byte[] digest;
        try (GuestMachine good = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            good.restore(snap);
            digest = good.digest();
        }
        Random r = new Random(42);
        int detected = 0;
        for (int i = 0; i < 300; i++) {
            byte[] bad = snap.clone();
            int pos = r.nextInt(bad.length);
            bad[pos] ^= (byte) (1 << r.nextInt(8));
            try (GuestMachine b = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
                try {
                    b.restore(bad);
                    // Only bits that do not change the body (deflate padding) may pass, and then nothing changed.
                    assertArrayEquals(digest, b.digest(), "flip at byte " + pos + " restored a different state");
                } catch (SnapshotException e) {
                    assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
                    detected++;
                }
            }
        }
        // The invariant above is the point; the count only shows the check is not vacuous (a few flips land in
        // deflate bits that do not change the inflated body, and then nothing changed).
        assertTrue(detected >= 240, "only " + detected + " of 300 flips detected");
    }

    @Test
    void snapshot_of_another_module_rejected() {
        byte[] snap = sampleSnapshot();
        try (GuestMachine b = machine("probe", Engine.COMPILER, config("echo", "echo"))) {
            SnapshotException e = assertThrows(SnapshotException.class, () -> b.restore(snap));
            assertTrue(e.getMessage().contains("taken with module"), e.getMessage());
        }
    }

    @Test
    void restore_into_a_machine_that_already_ran_is_refused() {
        byte[] snap = sampleSnapshot();
        try (GuestMachine b = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            b.apply(new Guests.Script().next());
            assertThrows(IllegalStateException.class, () -> b.restore(snap));
        }
    }
}
