package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.log;
import static io.replicode.replica.machine.Guests.machine;
import static io.replicode.replica.machine.Guests.open;
import static io.replicode.replica.machine.Guests.sent;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Rust guest ({@code wasm-programs/src/rust/lines.rs}, rustc 1.63's std on wasm32-wasi: blocking accept, read and
 * write on a listener taken with {@code from_raw_fd(3)}): its line protocol over several clients, served one after
 * another, on both engines; its asyncified build parks, snapshots and restores on the other engine; its plain build
 * runs on a thread; it follows the stop convention.
 */
class RustGuestTest {
    private static final String GUEST = "rust_lines";

    /** Clients in turn, each one frame: connect, send, half-close; the replies and the guest's close come back. */
    private static final String[][] CLIENTS = {
        {"PING\nSET b 2\nSET a one two \nGET a\nGET zz\nCOUNT\n",
            "PONG\nOK\nOK\nVALUE one two \nNIL\n2\n"},
        {"get b\r\nKEYS\nDEL b\nDEL b\n\nFOO bar\nGET\nGET a b\nset x\nCOUNT",
            "VALUE 2\nKEYS a b\nDELETED\nNIL\nERR unknown command 'FOO'\nERR wrong number of arguments for 'GET'\n"
                    + "ERR wrong number of arguments for 'GET'\nERR wrong number of arguments for 'set'\n1\n"},
        {"SET c 3\nKEYS\nQUIT\nPING\n", "OK\nKEYS a c\nBYE\n"},
    };

    /** Runs the guest's first frame (up to its blocking accept) and checks that it announced itself. */
    private static void start(GuestMachine m, Guests.Script s) {
        List<Output> out = m.apply(s.next());
        assertEquals(GuestMachine.State.PARKED, m.state(), String.valueOf(m.stopReason()));
        assertEquals("lines: listening on fd 3\n", log(out, 2));
    }

    /** One client in one frame: connect, send {@code input}, half-close; returns what the frame produced. */
    private static List<Output> client(GuestMachine m, Guests.Script s, long conn, String input) {
        return m.apply(s.next(open(conn, "lines"), data(conn, input), new IngressEvent.HalfClose(conn)));
    }

    private static boolean closed(List<Output> out, long conn) {
        return out.stream().anyMatch(o -> o instanceof Output.Close c && c.connection() == conn);
    }

    private static void transcript(GuestMachine m, Guests.Script s) {
        for (int i = 0; i < CLIENTS.length; i++) {
            long conn = i + 1;
            List<Output> out = client(m, s, conn, CLIENTS[i][0]);
            assertEquals(CLIENTS[i][1], sent(out, conn), "client " + conn);
            assertTrue(closed(out, conn), "the guest closes client " + conn + " after its last reply: " + out);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clients_in_turn_share_one_store_on_both_engines(Engine engine) {
        try (GuestMachine m = machine(GUEST, engine, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            start(m, s);
            assertEquals("asyncify", m.status().waitMode());
            transcript(m, s);
            assertEquals(GuestMachine.State.PARKED, m.state(), "waiting for the next client");
        }
    }

    @Test
    void both_engines_produce_the_same_outputs_and_state() {
        try (GuestMachine a = machine(GUEST, Engine.COMPILER, config("lines", "lines"));
             GuestMachine b = machine(GUEST, Engine.INTERPRETER, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            Frame first = s.next();
            assertEquals(a.apply(first), b.apply(first));
            for (int i = 0; i < CLIENTS.length; i++) {
                Frame f = s.next(open(i + 1, "lines"), data(i + 1, CLIENTS[i][0]), new IngressEvent.HalfClose(i + 1));
                assertEquals(a.apply(f), b.apply(f), "client " + (i + 1));
                assertArrayEquals(a.digest(), b.digest(), "after client " + (i + 1));
            }
        }
    }

    @Test
    void a_waiting_client_is_served_when_the_one_before_it_leaves_and_lines_may_span_frames() {
        try (GuestMachine m = machine(GUEST, Engine.COMPILER, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            start(m, s);
            List<Output> out = m.apply(s.next(open(1, "lines"), data(1, "SET k v\nGE"), open(2, "lines"), data(2, "GET k\n")));
            assertEquals("OK\n", sent(out, 1));
            assertEquals("", sent(out, 2), "client 2 waits in the backlog while client 1 is served");
            out = m.apply(s.next(data(1, "T k\nCOU")));
            assertEquals("VALUE v\n", sent(out, 1), "a line split across frames");
            out = m.apply(s.next(data(1, "NT\n"), new IngressEvent.HalfClose(1)));
            assertEquals("1\n", sent(out, 1));
            assertTrue(closed(out, 1));
            assertEquals("VALUE v\n", sent(out, 2), "client 2 is accepted in the frame client 1 left");
            assertFalse(closed(out, 2), "client 2 has not half-closed");
        }
    }

    @Test
    void a_line_over_4096_bytes_gets_an_error_and_a_close() {
        try (GuestMachine m = machine(GUEST, Engine.COMPILER, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            start(m, s);
            List<Output> out = m.apply(s.next(open(1, "lines"), data(1, "PING\n" + "x".repeat(5000))));
            assertEquals("PONG\nERR line too long (more than 4096 bytes)\n", sent(out, 1));
            assertTrue(closed(out, 1), out.toString());
            out = client(m, s, 2, "GET " + "k".repeat(4092) + "\nPING\n");
            assertEquals("NIL\nPONG\n", sent(out, 2), "a line of exactly 4096 bytes is served");
        }
    }

    @Test
    void a_snapshot_taken_in_the_middle_of_a_client_restores_on_the_other_engine() {
        try (GuestMachine a = machine(GUEST, Engine.COMPILER, config("lines", "lines"));
             GuestMachine b = machine(GUEST, Engine.INTERPRETER, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            start(a, s);
            assertEquals("OK\n", sent(a.apply(s.next(open(1, "lines"), data(1, "SET k before\nGE"))), 1));

            b.restore(a.snapshot());
            assertArrayEquals(a.digest(), b.digest());
            Frame next = s.next(data(1, "T k\nSET k after\n"), new IngressEvent.HalfClose(1), open(2, "lines"),
                    data(2, "GET k\n"), new IngressEvent.HalfClose(2));
            List<Output> outA = a.apply(next);
            List<Output> outB = b.apply(next);
            assertEquals(outA, outB, "the parked read, the half line and the store come back");
            assertEquals("VALUE before\nOK\n", sent(outB, 1));
            assertEquals("VALUE after\n", sent(outB, 2));
            assertArrayEquals(a.digest(), b.digest());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void the_plain_build_serves_on_a_blocking_thread_without_snapshots(Engine engine) {
        try (GuestMachine m = machine(GUEST + ".plain", engine, config("lines", "lines"))) {
            Guests.Script s = new Guests.Script();
            start(m, s);
            assertEquals("thread", m.status().waitMode());
            transcript(m, s);
            IllegalStateException e = assertThrows(IllegalStateException.class, m::snapshot);
            assertTrue(e.getMessage().contains("Fix: wasm-opt -O2 --asyncify"), e.getMessage());
        }
    }

    @Test
    void the_listener_hang_up_of_an_upgrade_makes_it_exit_0_within_its_grace() {
        GuestModule rust = Guests.module(GUEST, Engine.COMPILER);
        GuestModule echo = Guests.module("echo_server", Engine.COMPILER);
        try (GuestMachine m = GuestMachine.create(rust, config("lines", "lines")).withModules(Map.of(echo.sha256(), echo)::get)) {
            Guests.Script s = new Guests.Script();
            start(m, s);
            List<Output> out = m.apply(s.next(new IngressEvent.Upgrade(echo.sha256(), 3)));
            assertEquals("lines: listener hung up, stopping\necho: listening on fd 3\n", log(out, 2),
                    "the Rust guest exits and the new module starts in the same frame");
            Output.Upgraded up = out.stream().filter(o -> o instanceof Output.Upgraded).map(o -> (Output.Upgraded) o)
                    .findFirst().orElseThrow(() -> new AssertionError("no upgrade in " + out));
            assertTrue(up.report().contains("the old guest exited within its grace (exit: status 0"), up.report());
            assertEquals(echo.sha256(), m.module().sha256());
        }
    }
}
