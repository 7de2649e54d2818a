package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchTableTest {
    @Test
    void a_batch_at_or_below_the_last_taken_from_its_gateway_is_a_resend() {
        BatchTable t = new BatchTable();
        assertTrue(t.admit(7, 1));
        assertTrue(t.admit(7, 2));
        assertFalse(t.admit(7, 2), "the same batch again");
        assertFalse(t.admit(7, 1), "an older one");
        assertTrue(t.taken(7, 2));
        assertFalse(t.taken(7, 3));
        assertTrue(t.admit(8, 1), "gateways count apart");
        assertEquals(Map.of(7, 2L, 8, 1L), t.entries());
    }

    @Test
    void a_lost_gateway_counts_from_one_again_and_all_forgets_every_gateway() {
        BatchTable t = new BatchTable(Map.of(3, 10L, 4, 5L));
        t.forget(3);
        assertNull(t.last(3));
        assertTrue(t.admit(3, 1));
        t.forget(IngressEvent.GatewayLost.ALL);
        assertEquals(0, t.size());
    }

    @Test
    void committed_events_move_the_table_as_the_replicas_see_them() {
        BatchTable t = new BatchTable();
        t.apply(List.of(new IngressEvent.Batch(IngressEvent.Batch.SEQUENCER, 0), new IngressEvent.Batch(2, 5),
                new IngressEvent.Open(1, "main"), new IngressEvent.Batch(2, 4), new IngressEvent.Batch(9, 1),
                new IngressEvent.GatewayLost(9)));
        assertEquals(Map.of(2, 5L), t.entries(), "the sequencer's own mark is no gateway; a lower seq never lowers");
        BatchTable copy = t.copy();
        t.note(2, 6);
        assertEquals(5L, copy.last(2), "a copy is apart");
        copy.replaceWith(t);
        assertEquals(t.entries(), copy.entries());
        assertEquals(List.of(2), List.copyOf(t.gateways()));
    }
}
