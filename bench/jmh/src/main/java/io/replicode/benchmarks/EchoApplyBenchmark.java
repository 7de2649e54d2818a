package io.replicode.benchmarks;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.GuestThreads;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
 * Cost of {@link GuestMachine#apply} per echoed event: the echo guest, parked with {@value #CONNECTIONS}
 * open connections, gets one frame per invocation carrying K Data events and echoes every byte back.
 * JMH divides by K, so the score is time per event; K = 1 shows the per-frame cost, K = 64 how a batch
 * amortises it. Run it with bench/jmh/run-jmh.sh; figures live in docs/benchmarks.md.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EchoApplyBenchmark {
    static final int CONNECTIONS = 64;
    static final String APP = "echo";
    static final long T0 = 1_700_000_000_000_000_000L;
    private static final byte[] ENTROPY = {1, 7};

    /** One parked echo machine and the frames that drive it; the subclass fixes the events per frame. */
    @State(Scope.Thread)
    public abstract static class EchoRig {
        @Param({"COMPILER", "INTERPRETER"})
        public Engine engine;

        @Param({"16", "1024"})
        public int payloadBytes;

        private final int eventsPerFrame;
        private GuestMachine machine;
        /** Event lists used in turn, so K = 1 frames visit every connection. */
        private final FrameFeed feed = new FrameFeed(APP, T0, ENTROPY);

        EchoRig(int eventsPerFrame) {
            if (CONNECTIONS % eventsPerFrame != 0) {
                throw new IllegalArgumentException(eventsPerFrame + " events per frame do not divide "
                        + CONNECTIONS + " connections evenly");
            }
            this.eventsPerFrame = eventsPerFrame;
        }

        @Setup(Level.Trial)
        public void start() {
            Path wasm = Path.of(System.getProperty("replicode.echo.wasm", "../../wasm-programs/wasm/echo_server.wasm"));
            if (!Files.exists(wasm)) {
                throw new IllegalStateException("echo guest " + wasm.toAbsolutePath() + " is missing. Fix: run "
                        + "from benchmarks/ (run-jmh.sh does) or pass -Dreplicode.echo.wasm=PATH");
            }
            GuestConfig config = GuestConfig.of(APP, List.of(APP)).withGenesis(new byte[] {1}, T0);
            machine = GuestMachine.create(GuestModule.load(wasm, engine), config);
            machine.apply(feed.frame(List.of()));
            List<IngressEvent> opens = new ArrayList<>();
            for (long conn = 1; conn <= CONNECTIONS; conn++) {
                opens.add(new IngressEvent.Open(conn, APP));
            }
            machine.apply(feed.frame(opens));
            feed.cycle(shapes());
            for (int i = 0; i < feed.cycleLength(); i++) {
                checkEcho(applyNext());
            }
        }

        /**
         * Each Data event travels with a Window grant of the same size: the credit the gateway returns for
         * the previous echo on that connection, so the send window stays open however long the run.
         */
        private List<List<IngressEvent>> shapes() {
            Random random = new Random(42);
            List<List<IngressEvent>> lists = new ArrayList<>();
            long conn = 1;
            for (int s = 0; s < CONNECTIONS / eventsPerFrame; s++) {
                List<IngressEvent> events = new ArrayList<>();
                for (int e = 0; e < eventsPerFrame; e++, conn++) {
                    byte[] payload = new byte[payloadBytes];
                    random.nextBytes(payload);
                    events.add(new IngressEvent.Window(conn, payloadBytes));
                    events.add(new IngressEvent.Data(conn, payload));
                }
                lists.add(List.copyOf(events));
            }
            return List.copyOf(lists);
        }

        /** The measured step: apply the next frame and return the outputs. */
        List<Output> applyNext() {
            return machine.apply(feed.next());
        }

        /** After each iteration one more frame must still echo everything, or the figures measure nothing. */
        @TearDown(Level.Iteration)
        public void checkStillEchoing() {
            checkEcho(applyNext());
        }

        private void checkEcho(List<Output> outputs) {
            long echoed = 0;
            for (Output o : outputs) {
                if (o instanceof Output.Send send) {
                    echoed += send.bytes().length;
                }
            }
            long expected = (long) eventsPerFrame * payloadBytes;
            if (machine.state() != GuestMachine.State.PARKED || echoed != expected) {
                throw new IllegalStateException("echo guest (" + engine + ") sent " + echoed + " bytes at frame "
                        + feed.seq() + ", expected " + expected + "; state " + machine.state() + ", stop reason "
                        + machine.stopReason() + ". Fix: the benchmark no longer measures an echo; check the "
                        + "guest and the window grants");
            }
        }

        @TearDown(Level.Trial)
        public void stop() {
            machine.close();
        }
    }

    /** Frames of one Data event each, round robin over the connections. */
    public static class OneEventPerFrame extends EchoRig {
        public OneEventPerFrame() {
            super(1);
        }
    }

    /** Frames of 64 Data events each, one per connection. */
    public static class SixtyFourEventsPerFrame extends EchoRig {
        public SixtyFourEventsPerFrame() {
            super(64);
        }
    }

    @Benchmark
    @OperationsPerInvocation(1)
    public void frameOf1Event(OneEventPerFrame rig, Blackhole bh) {
        bh.consume(rig.applyNext());
    }

    static final int INLINE_FRAMES = 100;

    /**
     * Like {@link #frameOf1Event}, but the caller is already a guest thread (as a replica's worker is):
     * {@value #INLINE_FRAMES} frames run inside one {@link GuestThreads#call}, so apply runs inline and
     * the one hand-over is shared by all of them.
     */
    @Benchmark
    @OperationsPerInvocation(INLINE_FRAMES)
    public void frameOf1EventOnGuestThread(OneEventPerFrame rig, Blackhole bh) {
        GuestThreads.call(() -> {
            for (int i = 0; i < INLINE_FRAMES; i++) {
                bh.consume(rig.applyNext());
            }
            return null;
        });
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public void frameOf64Events(SixtyFourEventsPerFrame rig, Blackhole bh) {
        bh.consume(rig.applyNext());
    }
}
