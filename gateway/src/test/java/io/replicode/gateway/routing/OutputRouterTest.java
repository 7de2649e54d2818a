package io.replicode.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputRouterTest {
    private static final int GATEWAY = 3;
    private static final long C1 = ConnectionIds.of(GATEWAY, 1);
    private static final long C2 = ConnectionIds.of(GATEWAY, 2);

    /** Writes down what the router decided, one line per call. */
    private static final class Recorder implements OutputRouter.Sink {
        final List<String> calls = new ArrayList<>();

        @Override
        public void send(long connection, byte[] bytes) {
            calls.add("send " + ConnectionIds.counter(connection) + " " + new String(bytes, StandardCharsets.UTF_8));
        }

        @Override
        public void close(long connection) {
            calls.add("close " + ConnectionIds.counter(connection));
        }

        @Override
        public void reset(long connection) {
            calls.add("reset " + ConnectionIds.counter(connection));
        }

        @Override
        public void window(long connection, int bytes) {
            calls.add("window " + ConnectionIds.counter(connection) + " " + bytes);
        }

        @Override
        public void log(String app, int fd, byte[] bytes) {
            calls.add("log " + app + " " + fd + " " + new String(bytes, StandardCharsets.UTF_8));
        }

        @Override
        public void stopped(String app, String reason) {
            calls.add("stopped " + app + " " + reason);
        }

        @Override
        public void recovered(String app, String report) {
            calls.add("recovered " + app + " " + report);
        }

        @Override
        public void upgraded(String app, String moduleSha256, String report) {
            calls.add("upgraded " + app + " " + moduleSha256 + " " + report);
        }

        @Override
        public void misaligned(String app, long connection, String problem) {
            calls.add("misaligned " + ConnectionIds.counter(connection) + ": " + problem);
        }
    }

    private final Recorder sink = new Recorder();
    private final OutputRouter router = new OutputRouter(GATEWAY, List.of("kv", "image"));

    private static Output.Send send(long conn, long offset, String text) {
        return new Output.Send(conn, offset, text.getBytes(StandardCharsets.UTF_8));
    }

    private static OutputBatch batch(String app, int replica, long seq, Output... outputs) {
        return new OutputBatch(app, replica, seq, List.of(outputs));
    }

    @Test
    void first_replica_wins_and_later_copies_are_dropped() {
        router.track(C1, "kv");
        OutputBatch fromA = batch("kv", 1, 1, send(C1, 0, "hello"));
        OutputBatch fromB = batch("kv", 2, 1, send(C1, 0, "hello"));
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(fromA, sink));
        assertEquals(OutputRouter.Verdict.DUPLICATE, router.route(fromB, sink));
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("kv", 2, 2, send(C1, 5, " world")), sink));
        assertEquals(OutputRouter.Verdict.DUPLICATE, router.route(batch("kv", 1, 2, send(C1, 5, " world")), sink));
        assertEquals(List.of("send 1 hello", "send 1  world"), sink.calls);
        assertEquals(2, router.duplicates());
        assertEquals(2, router.lastSeq("kv"));
        assertEquals(11, router.sentBytes(C1));
    }

    @Test
    void a_diverged_replica_never_gets_its_bytes_released_until_trusted_again() {
        router.track(C1, "kv");
        router.distrust("kv", 2, true);
        assertEquals(OutputRouter.Verdict.DISTRUSTED, router.route(batch("kv", 2, 1, send(C1, 0, "evil")), sink));
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("kv", 1, 1, send(C1, 0, "good")), sink));
        assertEquals(List.of("send 1 good"), sink.calls, "only the healthy replica's bytes reach the client");
        assertEquals(1, router.distrustedDropped());
        assertEquals(java.util.Set.of(2), router.distrusted("kv"));
        router.distrust("kv", 2, false);
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("kv", 2, 2, send(C1, 4, "!")), sink));
    }

    @Test
    void restarted_replica_replays_are_dropped() {
        router.track(C1, "kv");
        for (long seq = 1; seq <= 5; seq++) {
            router.route(batch("kv", 1, seq, send(C1, seq - 1, "x")), sink);
        }
        // Replica 2 restarts from a snapshot at seq 2 and replays 3..5, then continues with 6.
        for (long seq = 3; seq <= 5; seq++) {
            assertEquals(OutputRouter.Verdict.DUPLICATE, router.route(batch("kv", 2, seq, send(C1, seq - 1, "x")), sink));
        }
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("kv", 2, 6, send(C1, 5, "y")), sink));
        assertEquals("send 1 y", sink.calls.get(sink.calls.size() - 1));
        assertEquals(6, router.sentBytes(C1));
    }

    @Test
    void seq_is_per_app() {
        router.track(C1, "kv");
        router.track(C2, "image");
        router.route(batch("kv", 1, 10, send(C1, 0, "a")), sink);
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("image", 1, 1, send(C2, 0, "b")), sink));
        assertEquals(List.of("send 1 a", "send 2 b"), sink.calls);
    }

    @Test
    void gaps_in_seq_are_fine_because_replicas_skip_empty_batches() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, send(C1, 0, "a")), sink);
        assertEquals(OutputRouter.Verdict.APPLIED, router.route(batch("kv", 1, 9, send(C1, 1, "b")), sink));
        assertEquals(List.of("send 1 a", "send 1 b"), sink.calls);
    }

    @Test
    void send_past_the_delivered_offset_is_misaligned_and_forgotten() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, send(C1, 0, "abc"), send(C1, 5, "fgh"), send(C1, 8, "more")), sink);
        assertEquals(List.of("send 1 abc", "misaligned 1: bytes at offset 5 but only 3 were sent before them"), sink.calls);
        assertEquals(1, router.misaligned());
        assertEquals(-1, router.sentBytes(C1), "the connection is no longer routed");
        assertEquals(1, router.orphans(), "the Send after the misaligned one is dropped");
    }

    @Test
    void overlapping_send_delivers_only_the_new_bytes() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, send(C1, 0, "abc"), send(C1, 1, "bcde"), send(C1, 2, "c")), sink);
        assertEquals(List.of("send 1 abc", "send 1 de"), sink.calls);
        assertEquals(3, router.overlapBytes(), "2 bytes of the second Send and all of the third");
    }

    @Test
    void close_must_come_at_the_end_of_the_stream() {
        router.track(C1, "kv");
        router.track(C2, "kv");
        router.route(batch("kv", 1, 1, send(C1, 0, "abc"), new Output.Close(C1, 3), send(C2, 0, "x"),
                new Output.Close(C2, 0)), sink);
        assertEquals(List.of("send 1 abc", "close 1", "send 2 x", "misaligned 2: FIN at offset 0 but 1 bytes were sent"),
                sink.calls);
    }

    @Test
    void bytes_after_the_fin_are_misaligned() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, new Output.Close(C1, 0), send(C1, 0, "late")), sink);
        assertEquals(List.of("close 1", "misaligned 1: 4 bytes at offset 0 after the FIN"), sink.calls);
    }

    @Test
    void windows_flow_after_the_guest_closed_until_forgotten() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, new Output.Close(C1, 0), new Output.Window(C1, 10)), sink);
        router.forget(C1);
        router.route(batch("kv", 1, 2, new Output.Window(C1, 5)), sink);
        assertEquals(List.of("close 1", "window 1 10"), sink.calls);
        assertEquals(1, router.orphans());
    }

    @Test
    void reset_forgets_the_connection() {
        router.track(C1, "kv");
        router.route(batch("kv", 1, 1, new Output.Reset(C1), send(C1, 0, "x")), sink);
        assertEquals(List.of("reset 1"), sink.calls);
        assertEquals(1, router.orphans());
    }

    @Test
    void outputs_for_another_apps_connection_are_dropped() {
        router.track(C1, "image");
        router.route(batch("kv", 1, 1, send(C1, 0, "x"), new Output.Reset(C1)), sink);
        assertEquals(List.of(), sink.calls);
        assertEquals(2, router.orphans());
        assertEquals(0, router.sentBytes(C1));
    }

    @Test
    void unknown_app_is_dropped_and_counted() {
        assertEquals(OutputRouter.Verdict.UNKNOWN_APP, router.route(batch("ledger", 1, 1, new Output.Stopped("x")), sink));
        assertEquals(List.of(), sink.calls);
        assertEquals(1, router.unknownApp());
        assertEquals(-1, router.lastSeq("ledger"));
    }

    @Test
    void app_wide_outputs_pass_through_and_timers_are_ignored() {
        router.route(batch("kv", 1, 1, new Output.Log(2, "oops\n".getBytes(StandardCharsets.UTF_8)),
                new Output.TimerRequest(123), new Output.Stopped("exit: status 3")), sink);
        assertEquals(List.of("log kv 2 oops\n", "stopped kv exit: status 3"), sink.calls);
    }
}
