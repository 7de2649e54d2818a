package io.replicode.sequencer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.replicode.nat.Frame;
import java.util.concurrent.TimeUnit;

/**
 * What an app's sequencer counts (single-node or Raft leader alike): the frames and events it made durable, their
 * sizes, and in a cluster how long the majority took to commit each. The meters are found by name and tags, so a
 * sequencer that takes over (a new leader term) goes on counting in the same series.
 */
public final class SequencerMeters {
    /** Records nothing: for sequencers started without a registry (tests, tools). */
    public static final SequencerMeters NONE = new SequencerMeters(new CompositeMeterRegistry(), "none");

    private final Counter frames;
    private final Counter events;
    private final DistributionSummary frameBytes;
    private final DistributionSummary frameEvents;
    private final Timer commit;

    public SequencerMeters(MeterRegistry registry, String app) {
        frames = Counter.builder("replicode.frames.sequenced").description("Frames made durable in the app's history")
                .tag("app", app).register(registry);
        events = Counter.builder("replicode.events.sequenced").description("Ingress events in those frames")
                .tag("app", app).register(registry);
        frameBytes = DistributionSummary.builder("replicode.frame.size").baseUnit("bytes")
                .description("Encoded size of each frame").tag("app", app)
                .serviceLevelObjectives(256, 1024, 4096, 16384, 65536, 262144, 1048576).register(registry);
        frameEvents = DistributionSummary.builder("replicode.frame.events").description("Events in each frame")
                .tag("app", app).serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry);
        commit = Timer.builder("replicode.consensus.commit").description("From a frame's submission to its Raft commit")
                .tag("app", app).publishPercentileHistogram().register(registry);
    }

    /** A frame of {@code encodedBytes} bytes is durable. */
    public void durable(Frame f, int encodedBytes) {
        frames.increment();
        events.increment(f.events().size());
        frameBytes.record(encodedBytes);
        frameEvents.record(f.events().size());
    }

    /** The majority committed a frame {@code nanos} after it was submitted. */
    public void committed(long nanos) {
        commit.record(nanos, TimeUnit.NANOSECONDS);
    }
}
