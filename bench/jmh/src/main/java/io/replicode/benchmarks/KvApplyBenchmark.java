package io.replicode.benchmarks;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.GuestThreads;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What one replica spends on a Redis request: the kv guest, parked with {@value #CONNECTIONS} RESP connections (as
 * {@code redis-benchmark -c 50} opens), gets frames of {@value #PER_FRAME} requests on as many connections (about what
 * a frame holds under that load) and answers each. JMH divides by the requests, so the score is one replica's guest
 * time per request: the compiled guest, the WASI host, the machine's bookkeeping. The frames run on a guest thread,
 * as a replica's do. Run with {@code bench/jmh/run-jmh.sh KvApplyBenchmark}; figures live in docs/benchmarks.md.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class KvApplyBenchmark {
    static final int CONNECTIONS = 50;
    static final int PER_FRAME = 25;
    static final int FRAMES_PER_CALL = 40;
    static final String APP = "kv";
    static final long T0 = 1_700_000_000_000_000_000L;
    private static final byte[] ENTROPY = {4, 2};

    @State(Scope.Thread)
    public static class KvRig {
        /** SET key:__rand_int__ xxx, or GET of such a key, as redis-benchmark -t set / -t get send them. */
        @Param({"SET", "GET"})
        public String command;

        private GuestMachine machine;
        private final FrameFeed feed = new FrameFeed(APP, T0, ENTROPY);
        private int expectedReplyBytes;

        @Setup(Level.Trial)
        public void start() {
            Path wasm = Path.of(System.getProperty("replicode.kv.wasm", "../../wasm-programs/wasm/kv_server.wasm"));
            if (!Files.exists(wasm)) {
                throw new IllegalStateException("kv guest " + wasm.toAbsolutePath() + " is missing. Fix: run from "
                        + "bench/jmh/ (run-jmh.sh does) or pass -Dreplicode.kv.wasm=PATH");
            }
            GuestConfig config = GuestConfig.of(APP, List.of("resp", "http", "line")).withGenesis(ENTROPY, T0);
            machine = GuestMachine.create(GuestModule.load(wasm, Engine.COMPILER), config);
            GuestThreads.call(() -> {
                machine.apply(feed.frame(List.of()));
                List<IngressEvent> opens = new ArrayList<>();
                for (long conn = 1; conn <= CONNECTIONS; conn++) {
                    opens.add(new IngressEvent.Open(conn, "resp"));
                }
                machine.apply(feed.frame(opens));
                // The keys GET reads exist: one SET of each first.
                List<IngressEvent> sets = new ArrayList<>();
                for (int k = 0; k < CONNECTIONS; k++) {
                    sets.add(new IngressEvent.Data(k + 1, resp("SET", "key:" + k, "xxx")));
                }
                machine.apply(feed.frame(sets));
                return null;
            });
            feed.cycle(shapes());
            expectedReplyBytes = PER_FRAME * ("SET".equals(command) ? "+OK\r\n".length() : "$3\r\nxxx\r\n".length());
            GuestThreads.call(() -> {
                for (int i = 0; i < feed.cycleLength(); i++) {
                    check(applyNext());
                }
                return null;
            });
        }

        private static byte[] resp(String... words) {
            StringBuilder b = new StringBuilder("*").append(words.length).append("\r\n");
            for (String w : words) {
                b.append('$').append(w.length()).append("\r\n").append(w).append("\r\n");
            }
            return b.toString().getBytes(StandardCharsets.US_ASCII);
        }

        /** Each request travels with a Window grant for the previous answer, so the send window never closes. */
        private List<List<IngressEvent>> shapes() {
            List<List<IngressEvent>> lists = new ArrayList<>();
            int conn = 0;
            for (int s = 0; s < CONNECTIONS * 2 / PER_FRAME; s++) {
                List<IngressEvent> events = new ArrayList<>();
                for (int e = 0; e < PER_FRAME; e++) {
                    long id = conn % CONNECTIONS + 1;
                    String key = "key:" + (conn * 7 % CONNECTIONS);
                    byte[] request = "SET".equals(command) ? resp("SET", key, "xxx") : resp("GET", key);
                    events.add(new IngressEvent.Window(id, 16));
                    events.add(new IngressEvent.Data(id, request));
                    conn++;
                }
                lists.add(List.copyOf(events));
            }
            return List.copyOf(lists);
        }

        List<Output> applyNext() {
            return machine.apply(feed.next());
        }

        /** After each iteration one more frame must still be answered in full, or the figures measure nothing. */
        @TearDown(Level.Iteration)
        public void checkStillAnswering() {
            GuestThreads.call(() -> {
                check(applyNext());
                return null;
            });
        }

        private void check(List<Output> outputs) {
            long sent = 0;
            for (Output o : outputs) {
                if (o instanceof Output.Send send) {
                    sent += send.bytes().length;
                }
            }
            if (machine.state() != GuestMachine.State.PARKED || sent != expectedReplyBytes) {
                throw new IllegalStateException("kv guest answered " + sent + " bytes at frame " + feed.seq() + ", expected "
                        + expectedReplyBytes + "; state " + machine.state() + ", stop reason " + machine.stopReason()
                        + ". Fix: the benchmark no longer measures answered requests; check the guest and the grants");
            }
        }

        @TearDown(Level.Trial)
        public void stop() {
            machine.close();
        }
    }

    /** {@value #FRAMES_PER_CALL} frames per call, inside one guest-thread hand-over (as a replica runs them). */
    @Benchmark
    @OperationsPerInvocation(FRAMES_PER_CALL * PER_FRAME)
    public void request(KvRig rig, Blackhole bh) {
        GuestThreads.call(() -> {
            for (int i = 0; i < FRAMES_PER_CALL; i++) {
                bh.consume(rig.applyNext());
            }
            return null;
        });
    }
}
