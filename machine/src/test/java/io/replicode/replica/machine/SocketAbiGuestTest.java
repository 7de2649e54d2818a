package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.log;
import static io.replicode.replica.machine.Guests.machine;
import static io.replicode.replica.machine.Guests.of;
import static io.replicode.replica.machine.Guests.open;
import static io.replicode.replica.machine.Guests.sent;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.net.VirtualNetwork;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Guests that open their own sockets: {@code rc_lines} (RepliCode's interface, built with RepliCode's flags: it listens
 * on a socket it opened, serves one client at a time with blocking calls, keeps files under relative names and /tmp,
 * connects out with a sockaddr_in) and {@code we_proxy} (WasmEdge's socket extension: binds its port, listens, tells
 * peer and local addresses, resolves an upstream's name and connects out). Each on both engines; outbound connections
 * as the frames carry them.
 */
class SocketAbiGuestTest {
    private static final long CLIENT = ConnectionIds.of(1, 1);
    private static final long UPSTREAM_1 = ConnectionIds.of(VirtualNetwork.UPSTREAM_GATEWAY, 1);

    private static GuestConfig rcConfig() {
        return config("rc", "lines").withUpstreams(List.of("127.0.0.1:9000"));
    }

    private static GuestConfig weConfig() {
        return config("we", "other", "main").withListenerPorts(Map.of("main", 7700, "other", 7800))
                .withArgs(List.of("we_proxy", "7700")).withEnvironment(Map.of("UPSTREAM", "upstream.test:9000"))
                .withUpstreams(List.of("upstream.test:9000"));
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_replicode_program_listens_on_its_own_socket_and_keeps_relative_files_and_tmp(Engine engine) {
        try (GuestMachine m = machine("rc_lines", engine, rcConfig())) {
            Guests.Script s = new Guests.Script();
            List<Output> out = m.apply(s.next());
            assertEquals(GuestMachine.State.PARKED, m.state(), String.valueOf(m.stopReason()));
            assertTrue(log(out, 1).contains("[rc_lines] listening on fd "), log(out, 1));
            assertEquals("replicode", m.status().socketAbi());
            out = m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "SET a 1\nGET a\nNOTE hi\nNOTE there\nGET b\nBAD\nQUIT\n")));
            assertEquals("OK\nVALUE 1\nNOTED 3\nNOTED 9\nNIL\nERR unknown command 'BAD'\nBYE\n", sent(out, CLIENT));
            assertTrue(out.stream().anyMatch(o -> o instanceof Output.Close c && c.connection() == CLIENT), out.toString());
            long second = ConnectionIds.of(1, 2);
            out = m.apply(s.next(open(second, "lines"), data(second, "GET a\n"), new IngressEvent.HalfClose(second)));
            assertEquals("VALUE 1\n", sent(out, second), "the file written under a relative name is there for the next client");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_replicode_send_returns_when_the_whole_buffer_went_and_paths_are_trimmed_as_replicode_did(Engine engine) {
        GuestConfig small = rcConfig().withLimits(io.replicode.replica.GuestLimits.DEFAULT.withSendWindowBytes(1000));
        try (GuestMachine m = machine("rc_lines", engine, small)) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            List<Output> out = m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "SET k v\nRAWGET k\nBIG 2500\nGET k\n")));
            StringBuilder got = new StringBuilder(sent(out, CLIENT));
            assertTrue(got.toString().startsWith("OK\nVALUE v\n"), "the name with a newline opened k.val: " + got);
            assertEquals(1000, got.length(), "the window's 1000 bytes, then it waits");
            for (int i = 0; i < 5 && !got.toString().endsWith("VALUE v\n"); i++) {
                out = m.apply(s.next(new IngressEvent.Window(CLIENT, 1000)));
                got.append(sent(out, CLIENT));
            }
            assertEquals("OK\nVALUE v\n" + "x".repeat(2500) + "\nVALUE v\n", got.toString());
            assertEquals("", log(out, 1), "no short send reported");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_replicode_connect_is_opened_by_the_frames_and_one_not_listed_is_refused_at_once(Engine engine) {
        try (GuestMachine m = machine("rc_lines", engine, rcConfig())) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            List<Output> out = m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "FETCH 10.1.2.3 80 x\nFETCH 127.0.0.1 9000 hello\n")));
            assertEquals("ERR connect " + Errno.CONNREFUSED + "\n", sent(out, CLIENT), "not an upstream: refused in the same frame");
            assertEquals(List.of(new Output.Connect(UPSTREAM_1, 1, "127.0.0.1:9000")), of(out, Output.Connect.class));
            assertEquals(1, m.status().refusedConnects());
            assertEquals(1, m.status().outboundConnections());

            out = m.apply(s.next(new IngressEvent.Connected(UPSTREAM_1, 0, "127.0.0.1:9000")));
            assertEquals("hello\n", sent(out, UPSTREAM_1), "the guest writes once connected");
            assertTrue(out.contains(new Output.Close(UPSTREAM_1, 6)), "and shuts its writing side: " + out);

            out = m.apply(s.next(data(UPSTREAM_1, "HELLO"), data(UPSTREAM_1, " BACK\n"), new IngressEvent.HalfClose(UPSTREAM_1)));
            assertEquals("HELLO BACK\n", sent(out, CLIENT));
            assertEquals(0, m.status().outboundConnections(), "closed after the upstream's end");

            long up2 = ConnectionIds.of(VirtualNetwork.UPSTREAM_GATEWAY, 2);
            out = m.apply(s.next(data(CLIENT, "FETCH 127.0.0.1 9000 again\n")));
            assertEquals(List.of(new Output.Connect(up2, 1, "127.0.0.1:9000")), of(out, Output.Connect.class));
            out = m.apply(s.next(new IngressEvent.Connected(up2, Errno.TIMEDOUT, "127.0.0.1:9000")));
            assertEquals("ERR connect " + Errno.TIMEDOUT + "\n", sent(out, CLIENT));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_wasmedge_program_binds_its_port_tells_addresses_and_connects_out_by_name(Engine engine) {
        try (GuestMachine m = machine("we_proxy", engine, weConfig())) {
            Guests.Script s = new Guests.Script();
            List<Output> out = m.apply(s.next());
            assertEquals(GuestMachine.State.PARKED, m.state(), String.valueOf(m.stopReason()));
            assertEquals("[we_proxy] listening on port 7700\n", log(out, 1));
            assertEquals("wasmedge", m.status().socketAbi());
            out = m.apply(s.next(open(CLIENT, "other"), open(CLIENT + 1, "main"), data(CLIENT + 1, "WHO\nECHO hi\nPROXY ping\n")));
            assertEquals(List.of(), of(out, Output.Reset.class), "the connection to 'other' waits: no socket holds it yet");
            assertEquals("PEER 10.1.0.2:1026 LOCAL 127.0.0.1:7700\nhi\n", sent(out, CLIENT + 1),
                    "bound to 7700, the guest holds listener 'main' (gateway port 7700), not the first declared");
            List<Output.Connect> connects = of(out, Output.Connect.class);
            assertEquals(List.of(new Output.Connect(UPSTREAM_1, 1, "upstream.test:9000")), connects,
                    "the guest saw a virtual address for the name; the connector gets the name");
            out = m.apply(s.next(new IngressEvent.Connected(UPSTREAM_1, 0, "127.0.0.1:9000"),
                    data(UPSTREAM_1, "PONG\n"), new IngressEvent.HalfClose(UPSTREAM_1)));
            assertEquals("ping\n", sent(out, UPSTREAM_1));
            assertEquals("PONG\n", sent(out, CLIENT + 1));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void the_plain_build_connects_out_on_a_blocking_thread(Engine engine) {
        try (GuestMachine m = machine("rc_lines.plain", engine, rcConfig())) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            assertEquals("thread", m.status().waitMode());
            List<Output> out = m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "FETCH 127.0.0.1 9000 hello\n")));
            assertEquals(List.of(new Output.Connect(UPSTREAM_1, 1, "127.0.0.1:9000")), of(out, Output.Connect.class));
            out = m.apply(s.next(new IngressEvent.Connected(UPSTREAM_1, 0, "127.0.0.1:9000")));
            assertEquals("hello\n", sent(out, UPSTREAM_1));
            out = m.apply(s.next(data(UPSTREAM_1, "BACK\n"), new IngressEvent.HalfClose(UPSTREAM_1)));
            assertEquals("BACK\n", sent(out, CLIENT));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void an_upgrade_from_a_preview1_module_to_a_replicode_program_gives_it_tmp_and_a_working_directory(Engine engine) {
        io.replicode.replica.module.GuestModule echo = Guests.module("echo_server", engine);
        io.replicode.replica.module.GuestModule rc = Guests.module("rc_lines", engine);
        try (GuestMachine m = GuestMachine.create(echo, rcConfig()).withModules(h -> h.equals(rc.sha256()) ? rc : null)) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            assertEquals("wasi-preview1", m.status().socketAbi());
            List<Output> out = m.apply(s.next(new IngressEvent.Upgrade(rc.sha256(), 1)));
            assertTrue(out.stream().anyMatch(o -> o instanceof Output.Upgraded), out.toString());
            assertEquals("replicode", m.status().socketAbi());
            out = m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "SET a 1\nGET a\nNOTE n\n")));
            assertEquals("OK\nVALUE 1\nNOTED 2\n", sent(out, CLIENT));
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_frame_of_a_new_epoch_resets_the_connections_of_the_old_one(Engine engine) {
        try (GuestMachine m = machine("rc_lines", engine, rcConfig())) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "FETCH 127.0.0.1 9000 hello\n")));
            m.apply(s.next(new IngressEvent.Connected(UPSTREAM_1, 0, "127.0.0.1:9000")));
            s.epoch = 2;
            List<Output> out = m.apply(s.next());
            assertTrue(out.contains(new Output.Reset(UPSTREAM_1)), "sequencing moved: the upstream connection is reset " + out);
            assertEquals("", sent(out, CLIENT), "the guest read the reset as the end of the upstream's answer");
            assertEquals(0, m.status().outboundConnections());
            out = m.apply(s.next(data(CLIENT, "GET nothing\n")));
            assertEquals("NIL\n", sent(out, CLIENT), "the client is served on");
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void a_snapshot_taken_while_connecting_restores_on_the_other_engine(Engine engine) {
        Engine other = engine == Engine.COMPILER ? Engine.INTERPRETER : Engine.COMPILER;
        try (GuestMachine m = machine("rc_lines", engine, rcConfig());
             GuestMachine copy = machine("rc_lines", other, rcConfig())) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            m.apply(s.next(open(CLIENT, "lines"), data(CLIENT, "SET k v\nFETCH 127.0.0.1 9000 hello\n")));
            byte[] snap = m.snapshot();
            copy.restore(snap);
            assertArrayEquals(m.digest(), copy.digest());
            for (GuestMachine g : List.of(m, copy)) {
                Guests.Script t = new Guests.Script();
                t.seq = s.seq;
                t.timeNs = s.timeNs;
                List<Output> out = g.apply(t.next(new IngressEvent.Connected(UPSTREAM_1, 0, "127.0.0.1:9000"),
                        data(UPSTREAM_1, "HI\n"), new IngressEvent.HalfClose(UPSTREAM_1)));
                assertEquals("HI\n", sent(out, CLIENT), g.status().engine());
            }
            assertArrayEquals(m.digest(), copy.digest());
        }
    }
}
