package io.replicode.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.limits.Reason;
import io.replicode.gateway.limits.Refusal;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.NatTable;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The switchboard driven by hand: turns end when the test says so, peers write down what they were told. */
class SwitchboardTest {
    private static final int GATEWAY = 2;

    private final List<IngressBatch> published = new ArrayList<>();
    private final List<Runnable> endOfTurn = new ArrayList<>();
    private final StringWriter log = new StringWriter();
    private final Switchboard board = new Switchboard(
            GatewayConfig.of(GATEWAY, "127.0.0.1", List.of(
                    GatewayConfig.App.of("kv", List.of("resp", "http"))
                            .withLimits(GatewayConfig.Limits.DEFAULT.withMaxConnections(2)),
                    GatewayConfig.App.of("image", List.of("http"))
                            .withLimits(GatewayConfig.Limits.DEFAULT.withMaxConnectionsPerClient(2)))),
            new Switchboard.Transport() {
                @Override
                public void publish(String app, IngressBatch batch) {
                    published.add(batch);
                }

                @Override
                public void later(Runnable task) {
                    endOfTurn.add(task);
                }

                @Override
                public long nowMs() {
                    return 1000;
                }
            },
            new PrintWriter(log, true));

    /** A peer that writes down the calls it gets. */
    private static final class Recorder implements Peer {
        final List<String> calls = new ArrayList<>();

        @Override
        public void guestSent(byte[] bytes) {
            calls.add("sent " + new String(bytes, StandardCharsets.UTF_8));
        }

        @Override
        public void guestClosed() {
            calls.add("closed");
        }

        @Override
        public void guestReset() {
            calls.add("reset");
        }

        @Override
        public void guestConsumed(int bytes) {
            calls.add("consumed " + bytes);
        }

        @Override
        public void abort(String reason) {
            calls.add("abort " + reason);
        }

        @Override
        public long heldFromClient() {
            return 0;
        }

        @Override
        public int inFlightToGuest() {
            return 0;
        }

        @Override
        public long pendingToClient() {
            return 0;
        }
    }

    private long open(String app, Recorder peer) {
        return board.open(app, "http", NatTable.Kind.TCP, "client", id -> peer).connection();
    }

    private void endTurn() {
        List<Runnable> tasks = new ArrayList<>(endOfTurn);
        endOfTurn.clear();
        tasks.forEach(Runnable::run);
    }

    private void outputs(String app, long seq, Output... outputs) {
        board.onOutputs(new OutputBatch(app, 1, seq, List.of(outputs)).encode());
    }

    @Test
    void a_batch_handed_over_as_an_object_is_screened_and_routed_as_an_encoded_one() {
        Recorder peer = new Recorder();
        long c = open("kv", peer);
        byte[] hi = "hi".getBytes(StandardCharsets.UTF_8);
        assertEquals(OutputRouter.Verdict.APPLIED, board.onOutputs(new OutputBatch("kv", 1, 1, List.of(new Output.Send(c, 0, hi)))));
        assertEquals(OutputRouter.Verdict.DUPLICATE, board.onOutputs(new OutputBatch("kv", 2, 1, List.of(new Output.Send(c, 0, hi)))),
                "a second replica's copy of frame 1 is a duplicate, whichever way it came");
        assertEquals(OutputRouter.Verdict.DUPLICATE, board.onOutputs(new OutputBatch("kv", 3, 1, List.of(new Output.Send(c, 0, hi))).encode()));
        board.router().distrust("kv", 2, true);
        assertEquals(OutputRouter.Verdict.DISTRUSTED,
                board.onOutputs(new OutputBatch("kv", 2, 2, List.of(new Output.Send(c, 2, "!!".getBytes(StandardCharsets.UTF_8))))),
                "a distrusted replica's batch is dropped");
        assertEquals(OutputRouter.Verdict.APPLIED, board.onOutputs(new OutputBatch("kv", 3, 2, List.of(new Output.Send(c, 2, "yo".getBytes(StandardCharsets.UTF_8)),
                new Output.Close(c, 4)))));
        assertEquals(OutputRouter.Verdict.UNKNOWN_APP, board.onOutputs(new OutputBatch("nope", 1, 1, List.of())));
        assertEquals(List.of("sent hi", "sent yo", "closed"), peer.calls);
    }

    @Test
    void events_of_one_turn_leave_as_one_batch_per_app() {
        long a = open("kv", new Recorder());
        board.emit("kv", new IngressEvent.Data(a, new byte[] {1}));
        long b = open("image", new Recorder());
        assertEquals(List.of(), published, "nothing leaves before the end of the turn");
        endTurn();
        assertEquals(2, published.size());
        assertEquals(List.of(new IngressEvent.Open(a, "http"), new IngressEvent.Data(a, new byte[] {1})), published.get(0).events());
        assertEquals(List.of(new IngressEvent.Open(b, "http")), published.get(1).events());
        assertEquals(1, published.get(0).batchSeq());
        assertEquals(GATEWAY, published.get(0).gateway());

        board.emit("kv", new IngressEvent.HalfClose(a));
        endTurn();
        assertEquals(2, published.get(2).batchSeq());
    }

    @Test
    void outputs_reach_the_peer_of_their_connection() {
        Recorder peer = new Recorder();
        long c = open("kv", peer);
        outputs("kv", 1, new Output.Send(c, 0, "hi".getBytes(StandardCharsets.UTF_8)), new Output.Window(c, 9),
                new Output.Close(c, 2));
        outputs("kv", 1, new Output.Send(c, 0, "hi".getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of("sent hi", "consumed 9", "closed"), peer.calls);
    }

    @Test
    void connections_beyond_the_limit_are_refused() {
        open("kv", new Recorder());
        long second = open("kv", new Recorder());
        Refusal full = board.admit("kv", "10.0.0.9");
        assertEquals(Reason.APP_FULL, full.reason());
        assertEquals(503, full.httpStatus());
        assertTrue(full.message().contains("2 open connections"), full.message());
        board.finished(second);
        assertNull(board.admit("kv", "10.0.0.9"));
        assertNull(board.admit("image", null));
    }

    @Test
    void one_client_address_is_capped_and_released_when_its_connections_finish() {
        long first = board.open("image", "http", NatTable.Kind.TCP, "a", "10.0.0.1", id -> new Recorder()).connection();
        board.open("image", "http", NatTable.Kind.TCP, "b", "10.0.0.1", id -> new Recorder());
        Refusal capped = board.admit("image", "10.0.0.1");
        assertEquals(Reason.CLIENT_CAP, capped.reason());
        assertEquals(429, capped.httpStatus());
        assertNull(board.admit("image", "10.0.0.2"), "another address is not capped");
        board.finished(first);
        board.finished(first);
        assertNull(board.admit("image", "10.0.0.1"));
        assertEquals(1, board.clients().count("image", "10.0.0.1"));
    }

    /** A stream whose client takes what the guest sends when the test says so. */
    private final class TakingStream extends GuestStream {
        TakingStream(long id, long sendWindowBytes) {
            super(id, "kv", board, 1024, sendWindowBytes);
        }

        void take(int n) {
            delivered(n, true);
        }

        @Override public void guestSent(byte[] bytes) { admitSent(bytes.length); }
        @Override public void guestClosed() { guestFinishedSending(); }
        @Override public void guestReset() { }
        @Override public void guestConsumed(int bytes) { }
        @Override public void abort(String reason) { }
    }

    private List<IngressEvent> windowsPublished() {
        endTurn();
        List<IngressEvent> out = new ArrayList<>();
        for (IngressBatch b : published) {
            for (IngressEvent e : b.events()) {
                if (e instanceof IngressEvent.Window) {
                    out.add(e);
                }
            }
        }
        published.clear();
        return out;
    }

    @Test
    void the_send_window_is_granted_back_once_the_client_took_half_of_it() {
        TakingStream[] stream = new TakingStream[1];
        long c = board.open("kv", "resp", NatTable.Kind.TCP, "client", id -> stream[0] = new TakingStream(id, 1000)).connection();
        windowsPublished();
        for (int i = 0; i < 4; i++) {
            stream[0].guestSent(new byte[100]);
            stream[0].take(100);
        }
        assertEquals(List.of(), windowsPublished(), "400 bytes taken of a 1000-byte window: no grant yet, no event per reply");
        stream[0].guestSent(new byte[100]);
        stream[0].take(100);
        assertEquals(List.of(new IngressEvent.Window(c, 500)), windowsPublished(), "half the window: one grant of all of it");
        stream[0].guestSent(new byte[900]);
        stream[0].take(900);
        assertEquals(List.of(new IngressEvent.Window(c, 900)), windowsPublished());
        stream[0].guestSent(new byte[200]);
        stream[0].guestClosed();
        stream[0].take(200);
        stream[0].take(0);
        assertEquals(List.of(), windowsPublished(), "a guest that closed is granted nothing");
    }

    @Test
    void a_client_that_finished_sending_no_longer_counts_against_its_cap() {
        long first = board.open("image", "http", NatTable.Kind.TCP, "a", "10.0.0.1", id -> new Recorder()).connection();
        board.open("image", "http", NatTable.Kind.TCP, "b", "10.0.0.1", id -> new Recorder());
        assertEquals(Reason.CLIENT_CAP, board.admit("image", "10.0.0.1").reason());
        board.clientFinished(first);
        assertNull(board.admit("image", "10.0.0.1"), "a closing connection frees its client's slot at the client's FIN");
        assertEquals(2, board.nat().count("image"), "it stays in the NAT until the guest closes its side");
        board.finished(first);
        assertEquals(1, board.clients().count("image", "10.0.0.1"), "and is not released twice");
    }

    @Test
    void stopped_app_aborts_its_peers_and_refuses_new_ones() {
        Recorder kv = new Recorder();
        Recorder image = new Recorder();
        open("kv", kv);
        open("image", image);
        outputs("kv", 1, new Output.Log(2, "bye".getBytes(StandardCharsets.UTF_8)), new Output.Stopped("exit: status 1"));
        assertEquals(List.of("abort app 'kv' stopped: exit: status 1"), kv.calls);
        assertEquals(List.of(), image.calls);
        assertEquals(new Refusal(Reason.UNAVAILABLE, "app 'kv' stopped: exit: status 1"), board.admit("kv", null));
        assertEquals("exit: status 1", board.stopReason("kv"));
        assertEquals(1, board.stops("kv"), "counted for replicode_app_stops_total");
        assertEquals(0, board.stops("image"));
        assertEquals(0, board.nat().count("kv"));
        assertTrue(log.toString().contains("[kv stderr] bye"), log.toString());
        assertTrue(log.toString().contains("kv: stopped: exit: status 1"), log.toString());
    }

    @Test
    void misaligned_output_resets_both_ends() {
        Recorder peer = new Recorder();
        long c = open("kv", peer);
        endTurn();
        outputs("kv", 1, new Output.Send(c, 5, "x".getBytes(StandardCharsets.UTF_8)));
        assertEquals(1, peer.calls.size());
        assertTrue(peer.calls.get(0).startsWith("abort "), peer.calls.toString());
        endTurn();
        assertEquals(List.of(new IngressEvent.Reset(c)), published.get(published.size() - 1).events());
        assertNull(board.nat().get(c));
        assertTrue(log.toString().contains("bytes at offset 5 but only 0 were sent"), log.toString());
    }

    @Test
    void malformed_outputs_are_dropped_and_counted() {
        Recorder peer = new Recorder();
        open("kv", peer);
        assertNull(board.onOutputs(new byte[] {1, 2, 'k'}));
        assertNull(board.onOutputs(new byte[0]));
        assertEquals(2, board.malformed());
        assertTrue(board.lastMalformed().contains("truncated"), board.lastMalformed());
        assertEquals(List.of(), peer.calls);
    }

    @Test
    void shutdown_resets_every_guest_connection_and_aborts_every_peer() {
        Recorder a = new Recorder();
        Recorder b = new Recorder();
        long ca = open("kv", a);
        long cb = open("image", b);
        endTurn();
        published.clear();
        board.shutdown("the gateway is stopping");
        assertEquals(List.of("abort the gateway is stopping"), a.calls);
        assertEquals(List.of("abort the gateway is stopping"), b.calls);
        assertEquals(List.of(List.of(new IngressEvent.Reset(ca)), List.of(new IngressEvent.Reset(cb))),
                published.stream().map(IngressBatch::events).toList());
        assertEquals(0, board.nat().size());
    }
}
