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

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A gateway's ingress batch that appears twice in the frame history (resent after a sequencer failover) reaches
 * the guest once, on every engine, across frames and across snapshot and restore.
 */
class DuplicateBatchTest {
    /** Bytes the duplicate-batch state adds at the end of an empty machine's version-2 body. */
    private static final int EMPTY_TABLE_BYTES = 4 + 1 + 8 + 8;
    /** The version-3 fault record of a machine that never faulted: four zero counters, "", no recent restarts. */
    private static final int EMPTY_FAULT_RECORD_BYTES = 4 * 8 + 2 + 4;
    private static final long C1 = ConnectionIds.of(3, 1);
    private static final long C2 = ConnectionIds.of(3, 2);

    private static IngressEvent.Batch batch(int gateway, long batchSeq) {
        return new IngressEvent.Batch(gateway, batchSeq);
    }

    /** A compiled and an interpreted echo guest fed the same frames, compared after every frame. */
    private static final class Pair implements AutoCloseable {
        final GuestMachine compiler = machine("echo_server", Engine.COMPILER, config("echo", "echo"));
        final GuestMachine interpreter = machine("echo_server", Engine.INTERPRETER, config("echo", "echo"));
        final Guests.Script script = new Guests.Script();
        final List<Output> outputs = new ArrayList<>();

        Pair() {
            apply();
        }

        List<Output> apply(IngressEvent... events) {
            Frame f = script.next(events);
            List<Output> a = compiler.apply(f);
            List<Output> b = interpreter.apply(f);
            assertEquals(a, b, "engines differ at frame " + f.seq());
            assertEquals(HexFormat.of().formatHex(compiler.digest()), HexFormat.of().formatHex(interpreter.digest()),
                    "digests differ at frame " + f.seq());
            outputs.addAll(a);
            return a;
        }

        @Override
        public void close() {
            compiler.close();
            interpreter.close();
        }
    }

    @Test
    void a_resent_batch_is_not_applied_and_a_new_batch_is() {
        try (Pair p = new Pair()) {
            assertEquals("hello", sent(p.apply(batch(3, 1), open(C1, "echo"), data(C1, "hello")), C1));
            assertEquals(List.of(), p.apply(batch(3, 1), open(C1, "echo"), data(C1, "hello")), "the copy changes nothing");
            assertEquals(" world", sent(p.apply(batch(3, 2), data(C1, " world")), C1));
            assertEquals(List.of(), p.apply(batch(3, 1), data(C1, "old")), "an older batch is a duplicate too");
            assertEquals("hello world", sent(p.outputs, C1), "each batch echoed once");
            GuestStatus s = p.compiler.status();
            assertEquals(2, s.duplicateBatches());
            assertEquals(3, s.duplicateEvents());
            assertEquals(s.duplicateBatches(), p.interpreter.status().duplicateBatches());
            assertEquals(0, p.compiler.host().network().ignoredEvents(), "the guest's network never saw the copies");
        }
    }

    @Test
    void a_batch_split_over_two_frames_is_dropped_in_both_parts_when_resent() {
        try (Pair p = new Pair()) {
            p.apply(batch(3, 1), open(C1, "echo"), data(C1, "part one;"));
            p.apply(data(C1, "part two;"));
            assertEquals(List.of(), p.apply(batch(3, 1), open(C1, "echo"), data(C1, "part one;")));
            assertEquals(List.of(), p.apply(data(C1, "part two;")), "the copy's second part is dropped too");
            // A new batch in the middle of a frame ends the copy.
            p.apply(data(C1, "copy tail;"), batch(3, 2), data(C1, "end"));
            assertEquals("part one;part two;end", sent(p.outputs, C1));
            assertEquals(1, p.compiler.status().duplicateBatches());
            assertEquals(4, p.compiler.status().duplicateEvents());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void duplicates_are_still_dropped_after_a_snapshot_restored_on_either_engine(Engine restoreOn) {
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, config("echo", "echo"));
             GuestMachine b = machine("echo_server", restoreOn, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(batch(3, 1), open(C1, "echo"), data(C1, "one;")));
            a.apply(s.next(batch(7, 4), open(ConnectionIds.of(7, 1), "echo")));
            // The cut falls inside a copy of batch (3, 1): the next frame continues it.
            a.apply(s.next(batch(3, 1), open(C1, "echo")));
            b.restore(a.snapshot());
            assertArrayEquals(a.digest(), b.digest(), "restored state has the snapshot's digest");
            assertEquals(a.status().duplicateBatches(), b.status().duplicateBatches());
            List<Frame> rest = List.of(
                    s.next(data(C1, "one;")),
                    s.next(batch(3, 1), data(C1, "one;")),
                    s.next(batch(7, 4), data(ConnectionIds.of(7, 1), "dup")),
                    s.next(batch(3, 2), data(C1, "two;")));
            List<Output> all = new ArrayList<>();
            for (Frame f : rest) {
                List<Output> oa = a.apply(f);
                assertEquals(oa, b.apply(f), "outputs after restore differ at frame " + f.seq());
                assertArrayEquals(a.digest(), b.digest(), "digest after restore differs at frame " + f.seq());
                all.addAll(oa);
            }
            assertEquals("two;", sent(all, C1), "the copy's tail and the later copies are dropped after restore");
            assertEquals("", sent(all, ConnectionIds.of(7, 1)));
            assertEquals(3, b.status().duplicateBatches());
            assertEquals(4, b.status().duplicateEvents());
        }
    }

    @Test
    void gateway_lost_forgets_the_gateway_and_sequencer_events_are_never_dropped() {
        try (Pair p = new Pair()) {
            p.apply(batch(3, 5), open(C1, "echo"), data(C1, "a;"));
            // Inside a copy of (3, 5), the sequencer's own mark starts events that are always applied.
            p.apply(batch(3, 5), data(C1, "dup;"), batch(0, 0), data(C1, "own;"), batch(0, 0), data(C1, "own again;"));
            assertEquals("a;own;own again;", sent(p.outputs, C1));
            // GatewayLost ends a copy even without a mark of its own.
            p.apply(batch(3, 5), data(C1, "dup;"), new IngressEvent.GatewayLost(9), data(C1, "after lost;"));
            assertEquals("a;own;own again;after lost;", sent(p.outputs, C1));

            p.apply(batch(0, 0), new IngressEvent.GatewayLost(3));
            assertTrue(p.compiler.host().network().connections().stream().noneMatch(c -> c.connection() == C1 && !c.isReset()),
                    "gateway 3's connection is reset");
            // Gateway 3's next incarnation counts from 1 again, and is applied.
            assertEquals("again", sent(p.apply(batch(3, 1), open(C2, "echo"), data(C2, "again")), C2));
            assertEquals(List.of(), p.apply(batch(3, 1), data(C2, "again")), "and then deduplicated again");

            long c4 = ConnectionIds.of(4, 1);
            p.apply(batch(4, 9), open(c4, "echo"));
            p.apply(batch(0, 0), new IngressEvent.GatewayLost(IngressEvent.GatewayLost.ALL));
            assertEquals("fresh", sent(p.apply(batch(4, 1), open(ConnectionIds.of(4, 2), "echo"),
                    data(ConnectionIds.of(4, 2), "fresh")), ConnectionIds.of(4, 2)), "GatewayLost(all) forgets every gateway");
            assertEquals(3, p.compiler.status().duplicateBatches());
            assertEquals(3, p.compiler.status().duplicateEvents());
        }
    }

    @Test
    void frames_without_marks_apply_every_event() {
        try (Pair p = new Pair()) {
            p.apply(open(C1, "echo"), data(C1, "x;"));
            p.apply(data(C1, "x;"));
            assertEquals("x;x;", sent(p.outputs, C1));
            assertEquals(0, p.compiler.status().duplicateBatches());
        }
    }

    @Test
    void a_stopped_app_keeps_deduplicating_and_resets_only_new_opens() {
        try (GuestMachine a = machine("traps", Engine.COMPILER, config("traps", "traps"));
             GuestMachine b = machine("traps", Engine.COMPILER, config("traps", "traps"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(batch(3, 1), open(C1, "traps"), data(C1, "exit 0\n")));
            assertEquals(GuestMachine.State.STOPPED, a.state(), "a guest that exits with status 0 is done");
            assertEquals(List.of(), a.apply(s.next(batch(3, 1), open(C1, "traps"))), "a copy's open is not reset twice");
            assertEquals(List.of(new Output.Reset(C2)), a.apply(s.next(batch(3, 2), open(C2, "traps"))));
            b.restore(a.snapshot());
            assertArrayEquals(a.digest(), b.digest());
            assertEquals(1, b.status().duplicateBatches());
        }
    }

    // ---- snapshot format ----

    /**
     * The body of a version-2 snapshot: the current body without its version-4 upgrade state (none) and its (empty)
     * version-3 fault record.
     */
    private static byte[] rawBody(byte[] snapshot) {
        byte[][] raw = new byte[1][];
        SnapshotCodec.decode(snapshot, Long.MAX_VALUE, (in, version) -> raw[0] = SnapshotFuzzTest.version4Body(in.readAllBytes()));
        assertEquals(0, raw[0][raw[0].length - 1], "no upgrade in progress");
        byte[] v3 = Arrays.copyOf(raw[0], raw[0].length - 1);
        byte[] faults = Arrays.copyOfRange(v3, v3.length - EMPTY_FAULT_RECORD_BYTES, v3.length);
        assertArrayEquals(new byte[EMPTY_FAULT_RECORD_BYTES], faults, "no faults, restarts, rollbacks; no last fault");
        return Arrays.copyOf(v3, v3.length - EMPTY_FAULT_RECORD_BYTES);
    }

    /** A snapshot of {@code body} with the given header version, uncompressed. */
    private static byte[] snapshotOf(byte[] body, int version) {
        byte[] snap = SnapshotCodec.encode(out -> out.write(body), false);
        ByteBuffer.wrap(snap).putShort(8, (short) version);
        return snap;
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_version_1_snapshot_restores_with_an_empty_table(Engine restoreOn) {
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, config("echo", "echo"));
             GuestMachine b = machine("echo_server", restoreOn, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(C1, "echo"), data(C1, "buffered")));
            byte[] v2 = rawBody(a.snapshot());
            byte[] tail = Arrays.copyOfRange(v2, v2.length - EMPTY_TABLE_BYTES, v2.length);
            assertArrayEquals(new byte[EMPTY_TABLE_BYTES], tail, "no gateways, not skipping, no duplicates");
            // A version-1 body is the version-2 body without the duplicate-batch state.
            b.restore(snapshotOf(Arrays.copyOf(v2, v2.length - EMPTY_TABLE_BYTES), 1));
            assertArrayEquals(a.digest(), b.digest());
            Frame next = s.next(batch(3, 1), data(C1, "!"), batch(3, 1), data(C1, "dup"));
            assertEquals(a.apply(next), b.apply(next));
            assertEquals(1, b.status().duplicateBatches());
            assertArrayEquals(a.digest(), b.digest());
        }
    }

    @Test
    void a_version_1_body_with_a_table_appended_is_refused() {
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, config("echo", "echo"));
             GuestMachine b = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            a.apply(new Guests.Script().next());
            SnapshotException e = assertThrows(SnapshotException.class, () -> b.restore(snapshotOf(rawBody(a.snapshot()), 1)));
            assertTrue(e.getMessage().contains("trailing bytes"), e.getMessage());
        }
    }

    @Test
    void a_table_count_larger_than_the_bytes_that_remain_is_refused() {
        byte[] body = bodyWithTable();
        int countAt = body.length - EMPTY_TABLE_BYTES - 2 * 12;
        assertEquals(2, ByteBuffer.wrap(body).getInt(countAt), "the layout this test assumes");
        for (int count : new int[] {4, 1 << 20, Integer.MAX_VALUE, -1}) {
            byte[] bad = body.clone();
            ByteBuffer.wrap(bad).putInt(countAt, count);
            SnapshotException e = restoreFails(snapshotOf(bad, 2));
            assertTrue(e.getMessage().contains("does not fit in the"), count + ": " + e.getMessage());
        }
    }

    @Test
    void a_table_out_of_gateway_order_or_a_bad_flag_is_refused() {
        byte[] body = bodyWithTable();
        int first = body.length - EMPTY_TABLE_BYTES - 2 * 12 + 4;
        byte[] unsorted = body.clone();
        ByteBuffer.wrap(unsorted).putInt(first, 9);
        assertTrue(restoreFails(snapshotOf(unsorted, 2)).getMessage().contains("increasing order"));
        byte[] zero = body.clone();
        ByteBuffer.wrap(zero).putInt(first, 0);
        assertTrue(restoreFails(snapshotOf(zero, 2)).getMessage().contains("increasing order"));
        byte[] negative = body.clone();
        ByteBuffer.wrap(negative).putLong(first + 4, -1);
        assertTrue(restoreFails(snapshotOf(negative, 2)).getMessage().contains("batchSeq -1"));
        byte[] flag = body.clone();
        flag[body.length - 17] = 2;
        assertTrue(restoreFails(snapshotOf(flag, 2)).getMessage().contains("skipping flag is 2"));
        byte[] counter = body.clone();
        ByteBuffer.wrap(counter).putLong(body.length - 8, -5);
        assertTrue(restoreFails(snapshotOf(counter, 2)).getMessage().contains("negative"));
    }

    /** The body of an echo machine that saw batches of gateways 3 and 5. */
    private static byte[] bodyWithTable() {
        try (GuestMachine a = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(batch(5, 2), batch(3, 8)));
            return rawBody(a.snapshot());
        }
    }

    private static SnapshotException restoreFails(byte[] snapshot) {
        try (GuestMachine b = machine("echo_server", Engine.COMPILER, config("echo", "echo"))) {
            return assertThrows(SnapshotException.class, () -> b.restore(snapshot));
        }
    }
}
