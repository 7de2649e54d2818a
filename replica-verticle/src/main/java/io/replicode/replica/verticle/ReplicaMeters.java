package io.replicode.replica.verticle;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.replicode.replica.machine.GuestStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One replica's meters (tags {@code app}, {@code replica}): how long each frame took to apply and how much fuel it
 * used, how far the replica is behind its app's history, its snapshots, and its guest's restarts. Registered when the
 * replica starts and removed when it stops, so a replica rebuilt or added under the same number reports afresh.
 */
final class ReplicaMeters {
    private final MeterRegistry registry;
    private final List<Meter> meters = new ArrayList<>();
    private final Timer apply;
    private final DistributionSummary fuel;
    private final DistributionSummary snapshotBytes;
    private final Timer snapshotWrite;

    ReplicaMeters(MeterRegistry registry, String app, int replica, LongSupplier lag, Supplier<GuestStatus> status) {
        this.registry = registry;
        Tags tags = Tags.of("app", app, "replica", Integer.toString(replica));
        apply = add(Timer.builder("replicode.frame.apply").description("Time to apply one frame in the guest machine")
                .tags(tags).publishPercentileHistogram().register(registry));
        fuel = add(DistributionSummary.builder("replicode.frame.fuel").description("Fuel one frame used")
                .tags(tags).serviceLevelObjectives(1e4, 1e5, 1e6, 1e7, 1e8, 1e9).register(registry));
        add(Gauge.builder("replicode.replica.lag", lag::getAsLong).baseUnit("frames")
                .description("Frames in the app's history this replica has not applied yet").tags(tags).register(registry));
        add(Gauge.builder("replicode.replica.running", () -> {
            GuestStatus s = status.get();
            return s != null && s.stopReason() == null ? 1 : 0;
        }).description("1 while the replica's guest serves, 0 once it stopped").tags(tags).register(registry));
        add(FunctionCounter.builder("replicode.guest.restarts", status, s -> s.get() == null ? 0 : s.get().restarts())
                .description("Times the guest was restarted on its files after a fault").tags(tags).register(registry));
        add(FunctionCounter.builder("replicode.guest.fuel.consumed", status, s -> s.get() == null ? 0 : s.get().fuelConsumed())
                .description("Fuel the guest used").tags(tags).register(registry));
        add(FunctionCounter.builder("replicode.upstream.connects.refused", status,
                        s -> s.get() == null ? 0 : s.get().refusedConnects())
                .description("Guest connects refused at once: the target is not one of the app's upstreams").tags(tags)
                .register(registry));
        add(Gauge.builder("replicode.upstream.connections", () -> {
            GuestStatus s = status.get();
            return s == null ? 0 : s.outboundConnections();
        }).description("Connections the guest holds to its upstreams").tags(tags).register(registry));
        snapshotBytes = add(DistributionSummary.builder("replicode.snapshot.size").baseUnit("bytes")
                .description("Compressed size of each snapshot written").tags(tags).register(registry));
        snapshotWrite = add(Timer.builder("replicode.snapshot.write")
                .description("Time to compress and store one snapshot (off the guest thread)").tags(tags).register(registry));
    }

    private <M extends Meter> M add(M m) {
        meters.add(m);
        return m;
    }

    void applied(long nanos, long fuelUsed) {
        apply.record(nanos, TimeUnit.NANOSECONDS);
        fuel.record(fuelUsed);
    }

    void snapshotWritten(long bytes, long nanos) {
        snapshotBytes.record(bytes);
        snapshotWrite.record(nanos, TimeUnit.NANOSECONDS);
    }

    void remove() {
        meters.forEach(registry::remove);
    }
}
