package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class LocalGatewaysTest {
    private final LocalGateways gateways = new LocalGateways();

    @Test
    void a_registered_gateway_gets_the_batch_itself_and_others_are_left_to_the_event_bus() {
        List<OutputBatch> got = new ArrayList<>();
        gateways.register(3, got::add);
        OutputBatch batch = new OutputBatch("kv", 1, 7, List.of(new Output.Close(ConnectionIds.of(3, 1), 0)));
        assertTrue(gateways.deliver(3, batch));
        assertSame(batch, got.get(0), "handed over as it is, not copied");
        assertFalse(gateways.deliver(4, batch), "gateway 4 is not in this process");
        assertEquals(1, got.size());
    }

    @Test
    void unregistering_stops_delivery_but_only_for_the_sink_that_registered() {
        List<OutputBatch> old = new ArrayList<>();
        List<OutputBatch> now = new ArrayList<>();
        Consumer<OutputBatch> first = old::add;
        Consumer<OutputBatch> second = now::add;
        gateways.register(1, first);
        gateways.register(1, second); // a restarted gateway with the same id
        gateways.unregister(1, first); // the old one's late stop must not remove the new one
        OutputBatch batch = new OutputBatch("kv", 2, 1, List.of());
        assertTrue(gateways.deliver(1, batch));
        assertEquals(List.of(batch), now);
        assertEquals(List.of(), old);
        gateways.unregister(1, second);
        assertFalse(gateways.deliver(1, batch));
    }
}
