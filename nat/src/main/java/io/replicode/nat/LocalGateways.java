package io.replicode.nat;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The gateways running in this process, by gateway id: a replica in the same process hands them its
 * {@link OutputBatch}es as objects instead of sending them encoded on {@code Addresses.outputs(gateway)}.
 *
 * <p>Why: on the event bus each batch was encoded by every replica, wrapped in a message, and decoded again by the
 * gateway, for a frame's answers that only the first replica's batch delivers. A gateway's sink runs the batch on its
 * own event loop (see {@code GatewayVerticle}), so a replica's batches still arrive in the order it sent them, and the
 * gateway screens them exactly as those from the event bus (duplicates, distrusted replicas). A gateway not registered
 * here, in another member of a cluster for instance, still gets its batches from the event bus.
 *
 * <p>The batches are shared, not copied: neither side changes an {@link Output} after handing it over.
 */
public final class LocalGateways {
    private final Map<Integer, Consumer<OutputBatch>> sinks = new ConcurrentHashMap<>();

    /** From now on, batches for {@code gateway} go to {@code sink}, which must not block (it is called on a replica's thread). */
    public void register(int gateway, Consumer<OutputBatch> sink) {
        sinks.put(gateway, sink);
    }

    /** Stops handing batches to {@code sink} (if it is still the one registered for {@code gateway}). */
    public void unregister(int gateway, Consumer<OutputBatch> sink) {
        sinks.remove(gateway, sink);
    }

    /** Hands {@code batch} to {@code gateway}'s sink; false when that gateway is not in this process (send it on the bus). */
    public boolean deliver(int gateway, OutputBatch batch) {
        Consumer<OutputBatch> sink = sinks.get(gateway);
        if (sink == null) {
            return false;
        }
        sink.accept(batch);
        return true;
    }
}
