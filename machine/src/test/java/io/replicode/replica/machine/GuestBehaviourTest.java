package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.T0;
import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.log;
import static io.replicode.replica.machine.Guests.machine;
import static io.replicode.replica.machine.Guests.of;
import static io.replicode.replica.machine.Guests.open;
import static io.replicode.replica.machine.Guests.sent;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every test guest behaves as its source says, on both engines. */
class GuestBehaviourTest {

    /** Runs one line command per fresh connection and returns the reply in the same frame. */
    private static final class Session implements AutoCloseable {
        final GuestMachine machine;
        final GuestConfig config;
        final Guests.Script script = new Guests.Script();
        long nextConn = 100;
        List<Output> last;

        Session(String guest, Engine engine, GuestConfig config) {
            this.config = config;
            machine = machine(guest, engine, config);
            last = machine.apply(script.next());
        }

        String call(String line) {
            long conn = nextConn++;
            last = machine.apply(script.next(open(conn, config.listeners().get(0)), data(conn, line + "\n")));
            return sent(last, conn).trim();
        }

        @Override
        public void close() {
            machine.close();
        }
    }

    private static Session session(String guest, Engine engine, GuestConfig config) {
        return new Session(guest, engine, config);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void echo_serves_many_interleaved_connections(Engine engine) {
        try (GuestMachine m = machine("echo_server", engine, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            int n = 40;
            List<IngressEvent> opens = new ArrayList<>();
            for (int c = 1; c <= n; c++) {
                opens.add(open(c, "echo"));
            }
            List<Output> all = new ArrayList<>(m.apply(s.next(opens.toArray(IngressEvent[]::new))));
            for (int round = 0; round < 3; round++) {
                List<IngressEvent> batch = new ArrayList<>();
                for (int c = n; c >= 1; c--) {
                    batch.add(data(c, "r" + round + "c" + c + ";"));
                }
                all.addAll(m.apply(s.next(batch.toArray(IngressEvent[]::new))));
            }
            List<IngressEvent> closes = new ArrayList<>();
            for (int c = 1; c <= n; c++) {
                closes.add(new IngressEvent.HalfClose(c));
            }
            all.addAll(m.apply(s.next(closes.toArray(IngressEvent[]::new))));
            for (int c = 1; c <= n; c++) {
                assertEquals("r0c" + c + ";r1c" + c + ";r2c" + c + ";", sent(all, c), "connection " + c);
            }
            long closed = of(all, Output.Close.class).stream().map(Output.Close::connection).distinct().count();
            assertEquals(n, closed, "every half-closed connection is closed by the server");
            assertEquals(GuestMachine.State.PARKED, m.state());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void echo_waits_for_window_when_gateway_grants_none(Engine engine) {
        GuestConfig cfg = config("echo", "echo").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withSendWindowBytes(4));
        try (GuestMachine m = machine("echo_server", engine, cfg)) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            List<Output> out = m.apply(s.next(open(1, "echo"), data(1, "abcdefghij")));
            assertEquals("abcd", sent(out, 1), "only the 4-byte window is sent");
            out = m.apply(s.next(new IngressEvent.Window(1, 3)));
            Output.Send send = of(out, Output.Send.class).get(0);
            assertEquals(4, send.offset());
            assertEquals("efg", new String(send.bytes()));
            out = m.apply(s.next(new IngressEvent.Window(1, 100)));
            assertEquals("hij", new String(of(out, Output.Send.class).get(0).bytes()));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void clock_is_frame_time_and_monotonic_counts_from_genesis(Engine engine) {
        try (Session p = session("probe", engine, config("probe", "probe"))) {
            String reply = p.call("clock");
            long t = p.script.timeNs;
            assertEquals("realtime " + t + " monotonic " + (t - T0) + " res 1", reply);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void random_depends_on_genesis_seed_and_frame_entropy_only(Engine engine) {
        String a;
        String b;
        String other;
        try (Session p = session("probe", engine, config("probe", "probe"))) {
            a = p.call("random 16");
            assertEquals(32, a.length());
            assertNotEquals(a, p.call("random 16"), "a new frame brings new entropy");
        }
        try (Session p = session("probe", engine, config("probe", "probe"))) {
            b = p.call("random 16");
        }
        try (Session p = session("probe", engine, config("probe", "probe").withGenesis(new byte[] {9}, T0))) {
            other = p.call("random 16");
        }
        assertEquals(a, b, "same genesis and frames give the same bytes");
        assertNotEquals(a, other, "another genesis seed gives other bytes");
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void args_and_environment_come_from_config_with_listen_fds(Engine engine) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("GREETING", "hello world");
        GuestConfig cfg = config("probe", "probe", "admin").withArgs(List.of("probe", "--port", "7")).withEnvironment(env);
        try (Session p = session("probe", engine, cfg)) {
            assertEquals("probe --port 7", p.call("args"));
            assertEquals("hello world", p.call("env GREETING"));
            assertEquals("2", p.call("env LISTEN_FDS"));
            assertEquals("probe:admin", p.call("env LISTEN_FDNAMES"));
            assertEquals("(unset)", p.call("env HOME"));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void files_live_in_data_with_sorted_readdir_and_frame_timestamps(Engine engine) {
        try (Session p = session("probe", engine, config("probe", "probe"))) {
            String reply = p.call("files");
            assertEquals("files hello a.txt b.txt dir probe.txt ino 2 mtime " + p.script.timeNs, reply);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void sleep_requests_a_timer_and_wakes_on_the_frame_at_that_time(Engine engine) {
        try (Session p = session("probe", engine, config("probe", "probe"))) {
            long conn = 7;
            List<Output> out = p.machine.apply(p.script.next(open(conn, "probe"), data(conn, "sleep 50\n")));
            long deadline = p.script.timeNs + 50_000_000L;
            assertEquals(List.of(new Output.TimerRequest(deadline)), of(out, Output.TimerRequest.class));
            assertEquals("", sent(out, conn));
            out = p.machine.apply(p.script.at(deadline - 1));
            assertEquals("", sent(out, conn), "one nanosecond early: still asleep");
            assertTrue(of(out, Output.TimerRequest.class).isEmpty(), "the same timer is not requested twice");
            out = p.machine.apply(p.script.at(deadline));
            assertEquals("slept monotonic " + (deadline - T0), sent(out, conn).trim());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void filesystem_quota_gives_enospc_and_writes_nothing_past_it(Engine engine) {
        GuestConfig cfg = config("probe", "probe").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withFsQuotaBytes(100_000));
        try (Session p = session("probe", engine, cfg)) {
            assertEquals("wrote 65536 errno ENOSPC", p.call("quota 200000"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"unreachable:trap: unreachable", "oob:trap: out of bounds memory access",
            "div0:trap: integer divide by zero", "overflow:trap: integer overflow",
            "indirect:trap: indirect call type mismatch", "exit 3:exit: status 3"})
    void a_trap_resets_only_the_connection_that_caused_it_and_the_app_goes_on(String spec) {
        String command = spec.substring(0, spec.indexOf(':'));
        String reason = spec.substring(spec.indexOf(':') + 1);
        for (Engine engine : Engine.values()) {
            try (Session p = session("traps", engine, config("traps", "traps"))) {
                assertEquals("ok", p.call("ok"));
                p.machine.apply(p.script.next(open(1, "traps")));
                p.call(command);
                long poison = p.nextConn - 1;
                List<Output> out = p.last;
                String expected = reason + " (frame " + p.script.seq + ")";
                assertEquals(List.of(), of(out, Output.Stopped.class), engine.name());
                assertEquals(List.of(new Output.Reset(poison)), of(out, Output.Reset.class),
                        "only the connection that sent the command is reset");
                Output.Recovered recovered = of(out, Output.Recovered.class).get(0);
                assertTrue(recovered.report().startsWith(expected + ": rolled back"), recovered.report());
                assertEquals(GuestMachine.State.PARKED, p.machine.state());
                assertEquals(expected, p.machine.status().lastFault());
                assertEquals(1, p.machine.status().rollbacks());
                List<Output> later = p.machine.apply(p.script.next(data(1, "ok\n")));
                assertEquals("ok\n", sent(later, 1), "the idle connection keeps its session");
                assertEquals("ok", p.call("ok"), "new connections are served");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void memory_limit_makes_malloc_fail_instead_of_growing(Engine engine) {
        GuestConfig cfg = config("hog", "hog").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withMemoryPages(64));
        try (Session p = session("memory_hog", engine, cfg)) {
            String reply = p.call("hog 100");
            assertTrue(reply.matches("allocated [0-9] MiB"), reply);
            assertTrue(p.machine.status().memoryPages() <= 64);
            assertEquals(GuestMachine.State.PARKED, p.machine.state(), "running out of memory is not a crash");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void recursion_within_the_depth_limit_succeeds_and_beyond_it_is_rolled_back(Engine engine) {
        GuestConfig cfg = config("rec", "rec").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withCallDepth(500));
        try (Session p = session("recursion", engine, cfg)) {
            assertEquals("depth 400 ok", p.call("recurse 400"));
            p.call("recurse 600");
            assertEquals("trap: call stack exhausted (depth limit 500) (frame " + p.script.seq + ")", p.machine.status().lastFault());
            assertEquals(List.of(new Output.Reset(p.nextConn - 1)), of(p.last, Output.Reset.class));
            assertEquals("depth 300 ok", p.call("recurse 300"), "the app goes on after the rollback");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void endless_loop_is_cut_when_fuel_runs_out_and_its_work_rolled_back(Engine engine) {
        GuestConfig cfg = config("loop", "loop").withLimits(io.replicode.replica.GuestLimits.DEFAULT.withFuelPerFrame(1_000_000));
        try (Session p = session("endless_loop", engine, cfg)) {
            p.call("spin");
            assertEquals("fuel exhausted: more than 1000000 instructions in one frame (frame " + p.script.seq + ")",
                    p.machine.status().lastFault());
            assertEquals(List.of(new Output.Reset(p.nextConn - 1)), of(p.last, Output.Reset.class));
            assertEquals(GuestMachine.State.PARKED, p.machine.state(), "the spinning connection is cut, the app goes on");
            assertEquals("count 0", p.call("count"), "the loop's increments were rolled back with its frame");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void sandbox_escapes_are_refused(Engine engine) {
        try (GuestMachine m = machine("sandbox", engine, config("sandbox"))) {
            List<Output> out = m.apply(new Guests.Script().next());
            assertEquals(String.join("\n",
                    "open /data/../etc/passwd: ENOTCAPABLE",
                    "open /etc/passwd: ENOTCAPABLE",
                    "open ../x: ENOTCAPABLE",
                    "create /data/./ok.txt: ok",
                    "symlink /data/abs -> /etc: ENOTCAPABLE",
                    "open /data/abs/passwd: ENOENT",
                    "symlink /data/up -> ../..: ok",
                    "open /data/up/x: ENOTCAPABLE",
                    "symlink /data/rel -> ok.txt: ok",
                    "open /data/rel: ok",
                    "mkdir /data/../escape: ENOTCAPABLE",
                    "rename /data/ok.txt /data/../moved: ENOTCAPABLE",
                    "link /data/ok.txt /data/hard: ok",
                    "opendir /: ENOTCAPABLE",
                    "stat /data/..: ENOTCAPABLE", ""), log(out, 1));
            assertEquals("exit: status 0 (frame 1)", m.stopReason());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void float_results_carry_canonical_nans(Engine engine) {
        try (GuestMachine m = machine("float_probe", engine, config("float"))) {
            String out = log(m.apply(new Guests.Script().next()), 1);
            Map<String, String> bits = new LinkedHashMap<>();
            for (String line : out.split("\n")) {
                String[] kv = line.split(" ");
                bits.put(kv[0], kv[1]);
            }
            for (String name : List.of("div_0_0", "sqrt_neg1", "inf_sub_inf", "inf_mul_0", "payload_add_1")) {
                assertEquals("7fc00000", bits.get("f32." + name), name);
                assertEquals("7ff8000000000000", bits.get("f64." + name), name);
            }
            assertEquals("7ff8000000000000", bits.get("f64.promote_payload"));
            assertEquals("7fc00000", bits.get("f32.demote_payload"));
            assertEquals("7fa00001", bits.get("f32.payload_copy"), "moving a NaN is not arithmetic: bits kept");
            assertEquals("3fd5555555555555", bits.get("f64.one_third"));
            assertEquals("3ff6a09e667f3bcd", bits.get("f64.sqrt_2"));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void module_without_asyncify_runs_on_a_blocking_thread(Engine engine) {
        try (GuestMachine m = machine("echo_server.plain", engine, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            assertEquals("thread", m.status().waitMode());
            assertEquals("ping", sent(m.apply(s.next(open(1, "echo"), data(1, "ping"))), 1));
            assertEquals("pong", sent(m.apply(s.next(data(1, "pong"))), 1).substring(0, 4));
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, m::snapshot);
            assertTrue(e.getMessage().contains("Fix: wasm-opt -O2 --asyncify"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void digest_is_stable_for_equal_state(Engine engine) {
        try (GuestMachine a = machine("echo_server", engine, config("echo", "echo"));
             GuestMachine b = machine("echo_server", engine, config("echo", "echo"))) {
            Guests.Script sa = new Guests.Script();
            Guests.Script sb = new Guests.Script();
            assertArrayEquals(a.digest(), b.digest());
            a.apply(sa.next(open(1, "echo"), data(1, "x")));
            assertNotEquals(java.util.HexFormat.of().formatHex(a.digest()), java.util.HexFormat.of().formatHex(b.digest()));
            b.apply(sb.next(open(1, "echo"), data(1, "x")));
            assertArrayEquals(a.digest(), b.digest());
        }
    }
}
