package io.replicode.gateway.status;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.gateway.routing.UnackedBatches;

/**
 * The gateway's meters, per app (tag {@code app}): connections open, client bytes in and out, connections refused,
 * whether the app is stopped, upgrades; and malformed inputs and (in a cluster) batches the sequencer has not
 * acknowledged. They read the gateway's own counters when scraped.
 */
public final class GatewayMeters {
    private GatewayMeters() {}

    public static void register(MeterRegistry r, Switchboard sb, UnackedBatches unacked, boolean cluster) {
        for (GatewayConfig.App app : sb.config().apps()) {
            String name = app.name();
            Gauge.builder("replicode.connections.open", sb, s -> s.nat().count(name))
                    .description("Client connections open to the app through this gateway").tag("app", name).register(r);
            FunctionCounter.builder("replicode.client.received", sb, s -> s.bytesReceived(name)).baseUnit("bytes")
                    .description("Bytes the app's clients sent through this gateway").tag("app", name).register(r);
            FunctionCounter.builder("replicode.client.sent", sb, s -> s.bytesSent(name)).baseUnit("bytes")
                    .description("Bytes of the app's answers handed to its clients").tag("app", name).register(r);
            FunctionCounter.builder("replicode.connections.refused", sb, s -> s.refused(name))
                    .description("Connections refused before they opened (limits, app stopped, unavailable)")
                    .tag("app", name).register(r);
            Gauge.builder("replicode.app.stopped", sb, s -> s.stopReason(name) == null ? 0 : 1)
                    .description("1 while the app is stopped (its guest stopped on every replica)").tag("app", name).register(r);
            FunctionCounter.builder("replicode.app.stops", sb, s -> s.stops(name))
                    .description("Times the app stopped (its guest stopped on every replica)").tag("app", name).register(r);
            FunctionCounter.builder("replicode.app.upgrades", sb, s -> s.upgrades(name))
                    .description("Upgrades of the app's module seen by this gateway").tag("app", name).register(r);
            if (cluster) {
                Gauge.builder("replicode.batches.unacknowledged", unacked, u -> u.count(name))
                        .description("Ingress batches sent to the sequencer and not acknowledged yet").tag("app", name)
                        .register(r);
            }
        }
        FunctionCounter.builder("replicode.inputs.malformed", sb, Switchboard::malformed)
                .description("Malformed messages the gateway dropped (outputs, notices, acknowledgements)").register(r);
    }
}
